#pragma once

#include <ostream>
#include <string>

#include "driver.hpp"
#include "options.hpp"

namespace cpx::load {

// A human-readable table of a run's results.
void print_table(const LoadOptions& options, const std::string& setup_notes,
                 const LoadResult& result, std::ostream& out);

// The same results as one JSON object on one line, for scripts.
void print_json(const LoadOptions& options, const LoadResult& result, std::ostream& out);

// Nanoseconds as microseconds with one decimal ("12.3"), by integer arithmetic.
std::string format_us(std::int64_t ns);

}  // namespace cpx::load
