// Store URLs: which backend a URL names, and how to print one without its password.

#include <regex>
#include <string>

#include "store_url.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // URL form: scheme://user:password@host -> scheme://user:***@host
  static const std::regex kUserInfo(R"(^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*):[^@/?#]*@)");
  out = std::regex_replace(out, kUserInfo, "$1:***@", std::regex_constants::format_first_only);
  // Keyword form and query parameters: password=secret
  static const std::regex kKeyword(R"((password\s*=\s*)('[^']*'|[^\s&]*))", std::regex::icase);
  out = std::regex_replace(out, kKeyword, "$1***");
  return out;
}

Result<ParsedStoreUrl> ParseStoreUrl(std::string_view url) {
  auto starts = [&](std::string_view p) { return url.substr(0, p.size()) == p; };
  if (starts("postgresql://") || starts("postgres://")) {
    return ParsedStoreUrl{StoreBackend::kPostgres, std::string(url)};
  }
  if (starts("postgresql:")) {  // libpq keyword form: "postgresql:host=... dbname=..."
    return ParsedStoreUrl{StoreBackend::kPostgres, std::string(url.substr(11))};
  }
  std::string_view path = url;
  if (starts("sqlite://")) {
    path.remove_prefix(9);
  } else if (starts("sqlite:")) {
    path.remove_prefix(7);
  } else if (url.find("://") != std::string_view::npos) {
    return Status::InvalidArgument("unsupported database URL scheme in '" + RedactUrl(url) +
                                   "': expected sqlite:PATH or postgresql://...",
                                   "db");
  }
  if (path.empty()) return Status::InvalidArgument("empty SQLite path", "db");
  return ParsedStoreUrl{StoreBackend::kSqlite, std::string(path)};
}

}  // namespace tidemark::catalog
