#include "sqlite_db.h"

namespace tidemark::catalog {

using model::Result;
using model::Status;

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg + " (database is busy)");
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Status::InvalidArgument(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status::Unavailable(msg);
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return Status::IoError(msg);
    default:
      return Status::Internal(msg);
  }
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, int busy_ms,
                                                  bool read_only) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
              (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(raw, rc, "open SQLite database '" + path + "'");
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  sqlite3_busy_timeout(raw, busy_ms);
  sqlite3_extended_result_codes(raw, 1);
  // WAL lets readers go on while the one writer writes. synchronous=FULL makes a commit
  // durable before Write returns (the promise behind a 2xx); batching keeps it cheap.
  // Readers map the file (no read syscall per page) and keep a larger cache: a search
  // touches a few hundred scattered documents of a catalog that can be gigabytes.
  const std::string setup =
      read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON; PRAGMA mmap_size=" +
                      std::to_string(kReaderMmapBytes) + "; PRAGMA cache_size=-16384;"
                : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                  "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                  "PRAGMA cache_size=-65536;";  // 64 MiB: bulk ingest
  TM_RETURN_IF_ERROR(db->Exec(setup).WithContext("configure '" + path + "'"));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteDb::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db_, rc, "execute SQL");
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

Result<SqliteStmt> SqliteDb::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return SqliteStmt(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare statement");
  cache_.emplace(sql, stmt);
  return SqliteStmt(stmt);
}

SqliteStmt::~SqliteStmt() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

SqliteStmt& SqliteStmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStmt& SqliteStmt::BindStatic(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}

SqliteStmt& SqliteStmt::Bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

SqliteStmt& SqliteStmt::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

SqliteStmt& SqliteStmt::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> SqliteStmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(stmt_), rc, "run statement");
}

Status SqliteStmt::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok() || !*row) {
      // Reset now rather than at scope exit so the statement can be re-bound and run again
      // in a loop; bindings are kept until rebound.
      sqlite3_reset(stmt_);
      return row.ok() ? Status::Ok() : row.status();
    }
  }
}

std::string SqliteStmt::Text(int col) const { return std::string(TextView(col)); }

std::string_view SqliteStmt::TextView(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

}  // namespace tidemark::catalog
