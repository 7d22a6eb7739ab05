#pragma once
// Where the migrations are, apart from the rest of the store's API so that a
// configuration can name the default without including libpqxx.

#include <filesystem>

namespace cpx::store {

// The db/migrations folder of the source tree this library was built from.
std::filesystem::path default_migrations_dir();

}  // namespace cpx::store
