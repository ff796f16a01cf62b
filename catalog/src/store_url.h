#pragma once

#include <string>
#include <string_view>

#include "tidemark/model/status.h"

namespace tidemark::catalog {

enum class StoreBackend { kSqlite, kPostgres };

struct ParsedStoreUrl {
  StoreBackend backend;
  std::string target;  // SQLite: the file path (or ":memory:"); PostgreSQL: the libpq string
};

// InvalidArgument for an unknown scheme or an empty path.
model::Result<ParsedStoreUrl> ParseStoreUrl(std::string_view url);

}  // namespace tidemark::catalog
