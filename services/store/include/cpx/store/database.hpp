#pragma once
// Connections to the exchange's PostgreSQL database. A URL is a libpq connection string,
// either a URI (postgresql://user@host:port/db?options, or postgresql:///db?host=/socket)
// or keyword=value pairs; errors name it with any password removed.

#include <memory>
#include <string>

#include <pqxx/pqxx>

namespace cpx::store {

// Opens a connection. Throws std::runtime_error naming the (redacted) URL and libpq's
// reason when the server cannot be reached or refuses.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

// Switches the session to the role cpx_app (created by migration 0001), so that the
// application works under its grants: it may append to the record and read it, never
// rewrite it. The connecting user must be a superuser or a member of cpx_app.
void use_app_role(pqxx::connection& connection);

// Switches the session to the role cpx_regulator (created by migration 0007), which reads
// every table and view and changes nothing: what cpxd's audit service reads the record
// as. The connecting user must be a superuser or a member of cpx_regulator.
void use_regulator_role(pqxx::connection& connection);

// The URL with every password replaced by "***": fit for logs and error messages.
std::string redact_url(const std::string& url);

// The URL with its database replaced by `database` (the other settings kept).
std::string url_with_database(const std::string& url, const std::string& database);

}  // namespace cpx::store
