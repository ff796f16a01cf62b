#pragma once

// A thin RAII layer over the sqlite3 C API for SqliteStore: a connection that caches its
// prepared statements, a statement handle that binds and reads typed values and resets itself,
// and SqliteError, the one place SQLite result codes become Status values.
//
// Not thread-safe: a SqliteDb belongs to one thread at a time (SqliteStore hands connections
// out under a lock).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::catalog {

// Converts a SQLite failure into a Status naming `context` (what was being done).
model::Status SqliteError(sqlite3* db, int rc, std::string_view context);

class SqliteStmt;

// How much of the file a read connection maps (PRAGMA mmap_size).
inline constexpr long long kReaderMmapBytes = 4LL << 30;

class SqliteDb {
 public:
  // Opens (creating if needed) the database at `path` and applies the connection settings
  // (WAL, foreign keys, busy timeout). Unavailable/IoError when it cannot be opened.
  static model::Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, int busy_ms,
                                                       bool read_only);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  model::Status Exec(std::string_view sql);
  // Returns the cached statement for `sql`, preparing it on first use. `sql` must outlive the
  // connection (pass string literals or named constants).
  model::Result<SqliteStmt> Prepare(const char* sql);
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// A borrowed, cached statement; resets and clears its bindings when it goes out of scope.
class SqliteStmt {
 public:
  explicit SqliteStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  SqliteStmt(SqliteStmt&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  SqliteStmt& operator=(SqliteStmt&&) = delete;
  ~SqliteStmt();

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT) unless Static.
  SqliteStmt& Bind(int i, std::string_view v);
  SqliteStmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  SqliteStmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  SqliteStmt& Bind(int i, std::int64_t v);
  SqliteStmt& Bind(int i, int v) { return Bind(i, static_cast<std::int64_t>(v)); }
  SqliteStmt& Bind(int i, double v);
  SqliteStmt& Bind(int i, model::Timestamp v) { return Bind(i, model::ToMicros(v)); }
  SqliteStmt& BindNull(int i);
  template <typename T>
  SqliteStmt& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : BindNull(i);
  }
  // Text whose storage outlives the statement's next Step (no copy).
  SqliteStmt& BindStatic(int i, std::string_view v);

  // Steps once: true when a row is available, false when done; errors as Status.
  model::Result<bool> Step();
  // Steps to completion, expecting no rows.
  model::Status Run();

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::string_view TextView(int col) const;
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  model::Timestamp Time(int col) const { return model::FromMicros(Int(col)); }
  std::optional<model::Timestamp> OptTime(int col) const {
    return IsNull(col) ? std::nullopt : std::optional(Time(col));
  }
  std::optional<std::int64_t> OptInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional(Int(col));
  }
  std::optional<double> OptReal(int col) const {
    return IsNull(col) ? std::nullopt : std::optional(Real(col));
  }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace tidemark::catalog
