#pragma once
// `cpx audit ...`: the regulator's commands. Unlike every other command they talk to
// PostgreSQL directly, not to cpxd: a regulator checks the record with read-only access
// to the database and the exchange's public audit key, trusting cpxd for nothing.

#include <string>

#include "args.hpp"

namespace cpx::cli {

// "audit" and "audit SUBCOMMAND".
bool is_audit_command(const std::string& command);

// Returns the process's exit status: 0 when the record verifies, 1 when it does not or
// cannot be read. Throws UsageError (exit status 2) for a wrong command line.
int run_audit_command(const Global& global, const Args& args);

}  // namespace cpx::cli
