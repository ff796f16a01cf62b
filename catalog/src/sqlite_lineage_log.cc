#include "sqlite_lineage_log.h"

#include <pthread.h>

#include <algorithm>
#include <filesystem>

namespace tidemark::catalog {

using model::Result;
using model::Status;

namespace {

// The log file's own schema version (PRAGMA user_version), apart from the catalog's
// migrations: the file holds this one table.
constexpr int kLogVersion = 1;
constexpr char kCreateLog[] =
    "CREATE TABLE IF NOT EXISTS lineage_events ("
    "  id          INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  received_at INTEGER NOT NULL,"
    "  event_time  INTEGER NOT NULL,"
    "  run_id      TEXT NOT NULL,"
    "  body        TEXT NOT NULL);"
    "PRAGMA user_version = 1;";
constexpr char kLogVersionSql[] = "PRAGMA user_version";
constexpr char kAppend[] =
    "INSERT INTO lineage_events (received_at, event_time, run_id, body) VALUES (?1, ?2, ?3, ?4)";
constexpr char kRead[] =
    "SELECT id, received_at, run_id, event_time, body FROM lineage_events WHERE id > ?1"
    " ORDER BY id LIMIT ?2";
// One statement: one snapshot of the log.
constexpr char kStatus[] =
    "SELECT coalesce(max(id), 0), (SELECT count(*) FROM lineage_events WHERE id > ?1),"
    " (SELECT min(received_at) FROM lineage_events WHERE id > ?1) FROM lineage_events";
constexpr char kPrune[] = "DELETE FROM lineage_events WHERE id <= ?1 AND received_at < ?2";
// The highest id ever given (sqlite_sequence survives pruning) and the highest still held.
constexpr char kHighestIds[] =
    "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'lineage_events'), 0),"
    " coalesce((SELECT max(id) FROM lineage_events), 0)";
constexpr char kRaiseSequence[] =
    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'lineage_events' AND seq < ?1";
constexpr char kInsertSequence[] =
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'lineage_events', ?1"
    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'lineage_events')";
constexpr char kAttachCatalog[] = "ATTACH DATABASE ?1 AS catalog";
constexpr char kCopyFromCatalog[] =
    "INSERT OR IGNORE INTO main.lineage_events (id, received_at, event_time, run_id, body)"
    " SELECT id, received_at, event_time, run_id, body FROM catalog.lineage_events"
    " WHERE id <= ?1";
constexpr char kDeleteFromCatalog[] = "DELETE FROM lineage_events WHERE id <= ?1";

// The WAL size (pages of 64 KiB) at which the log's thread checkpoints, and at which an
// append does when that thread has not kept up (SQLite's default automatic checkpoint, which
// a WAL hook replaces).
constexpr int kCheckpointPages = 64;
constexpr int kAppendCheckpointPages = 1000;

// Runs `body` in a write transaction of `db`; rolled back on error.
template <typename F>
auto InWriteTxn(SqliteDb& db, F&& body) -> decltype(body()) {
  TM_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto result = body();
  Status st = result.ok() ? db.Exec("COMMIT") : result.status();
  if (!st.ok()) {
    (void)db.Exec("ROLLBACK");
    return st;
  }
  return result;
}

Result<std::pair<std::int64_t, std::int64_t>> HighestIds(SqliteDb& db) {
  TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kHighestIds));
  TM_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Status::Internal("lineage log ids returned no row");
  return std::pair{s.Int(0), s.Int(1)};
}

// Events are 2-20 KB: with 64 KiB pages a group commit writes a few WAL frames (two write
// calls each) instead of three or more 4 KiB overflow pages per event, and the projector
// reads them back in fewer steps. The page size is fixed when the file is created, before
// WAL mode (SqliteDb::Open) is set; an existing file keeps its own.
Status CreateWithLargePages(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return Status::Ok();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(raw, "PRAGMA page_size = 65536; VACUUM;", nullptr, nullptr, nullptr);
  }
  Status st = rc == SQLITE_OK ? Status::Ok() : SqliteError(raw, rc, "create the log file");
  sqlite3_close(raw);
  return st;
}

}  // namespace

std::optional<std::string> SqliteLineageLog::PathFor(const std::string& catalog_path) {
  if (catalog_path.empty() || catalog_path == ":memory:" || catalog_path.rfind("file:", 0) == 0 ||
      catalog_path.find("mode=memory") != std::string::npos) {
    return std::nullopt;
  }
  return catalog_path + ".lineage";
}

Result<std::unique_ptr<SqliteLineageLog>> SqliteLineageLog::Open(const std::string& path,
                                                                 const std::string& catalog_path,
                                                                 SqliteDb& catalog, int busy_ms,
                                                                 std::int64_t projected_through) {
  const std::string where = "open the OpenLineage event log '" + path + "'";
  TM_RETURN_IF_ERROR(CreateWithLargePages(path).WithContext(where));
  TM_ASSIGN_OR_RETURN(auto writer, SqliteDb::Open(path, busy_ms, /*read_only=*/false));
  {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, writer->Prepare(kLogVersionSql));
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && s.Int(0) > kLogVersion) {
      return Status::Corruption("the event log was written by a newer version (" +
                                            std::to_string(s.Int(0)) + " > " +
                                            std::to_string(kLogVersion) + ")",
                                        path);
    }
  }
  TM_RETURN_IF_ERROR(writer->Exec(kCreateLog).WithContext(where));
  // The reader needs the WAL files the writer just made.
  TM_ASSIGN_OR_RETURN(auto reader, SqliteDb::Open(path, busy_ms, /*read_only=*/true));
  TM_ASSIGN_OR_RETURN(auto checkpointer, SqliteDb::Open(path, busy_ms, /*read_only=*/false));
  std::unique_ptr<SqliteLineageLog> log(
      new SqliteLineageLog(std::move(writer), std::move(reader), std::move(checkpointer)));
  sqlite3_wal_hook(
      log->writer_->handle(),
      [](void* self, sqlite3* db, const char* name, int pages) -> int {
        auto* log = static_cast<SqliteLineageLog*>(self);
        if (pages >= kCheckpointPages) {
          {
            std::lock_guard lock(log->wanted_mu_);
            log->checkpoint_wanted_ = true;
          }
          log->wanted_cv_.notify_one();
        }
        if (pages >= kAppendCheckpointPages) {
          (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        }
        return SQLITE_OK;
      },
      log.get());
  TM_RETURN_IF_ERROR(log->Adopt(catalog_path, catalog, projected_through).WithContext(where));
  log->checkpoint_thread_ = std::thread([raw = log.get()] { raw->CheckpointLoop(); });
  pthread_setname_np(log->checkpoint_thread_.native_handle(), "tm-log-ckpt");
  return log;
}

SqliteLineageLog::~SqliteLineageLog() {
  {
    std::lock_guard lock(wanted_mu_);
    stopping_ = true;
  }
  wanted_cv_.notify_one();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

void SqliteLineageLog::CheckpointLoop() {
  std::unique_lock lock(wanted_mu_);
  for (;;) {
    wanted_cv_.wait(lock, [&] { return stopping_ || checkpoint_wanted_; });
    if (stopping_) return;
    checkpoint_wanted_ = false;
    lock.unlock();
    // PASSIVE: never waits for an append or a reader; what it cannot copy now is copied the
    // next time. Its errors are nobody's: the next append asks again.
    (void)sqlite3_wal_checkpoint_v2(checkpointer_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                    nullptr, nullptr);
    lock.lock();
  }
}

Status SqliteLineageLog::Adopt(const std::string& catalog_path, SqliteDb& catalog,
                               std::int64_t projected_through) {
  TM_ASSIGN_OR_RETURN(auto in_catalog, HighestIds(catalog));
  const auto [catalog_sequence, catalog_max] = in_catalog;
  if (catalog_max > 0) {
    // Into the log first, committed, then out of the catalog: a crash in between leaves them
    // in both, and the next open copies them again (same ids: ignored).
    std::lock_guard lock(write_mu_);
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt attach, writer_->Prepare(kAttachCatalog));
      attach.Bind(1, catalog_path);
      TM_RETURN_IF_ERROR(attach.Run());
    }
    Status copied = InWriteTxn(*writer_, [&]() -> Result<bool> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kCopyFromCatalog));
      s.Bind(1, catalog_max);
      TM_RETURN_IF_ERROR(s.Run());
      return true;
    }).status();
    // Not a cached statement: DETACH must not be kept prepared against the attached file.
    Status detached = writer_->Exec("DETACH DATABASE catalog");
    TM_RETURN_IF_ERROR(copied.WithContext("copy events from the catalog file"));
    TM_RETURN_IF_ERROR(detached);
    TM_RETURN_IF_ERROR(InWriteTxn(catalog, [&]() -> Result<bool> {
                         TM_ASSIGN_OR_RETURN(SqliteStmt s, catalog.Prepare(kDeleteFromCatalog));
                         s.Bind(1, catalog_max);
                         TM_RETURN_IF_ERROR(s.Run());
                         return true;
                       }).status().WithContext("delete the copied events from the catalog file"));
  }
  // Ids at or below the checkpoint count as projected: new ones must come after it and after
  // every id the catalog file ever gave, even if this log file is new (lost, or replaced).
  const std::int64_t floor = std::max({projected_through, catalog_sequence, catalog_max});
  std::lock_guard lock(write_mu_);
  return InWriteTxn(*writer_, [&]() -> Result<bool> {
           TM_ASSIGN_OR_RETURN(auto ids, HighestIds(*writer_));
           if (ids.first >= floor) return true;
           for (const char* sql : {kRaiseSequence, kInsertSequence}) {
             TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(sql));
             s.Bind(1, floor);
             TM_RETURN_IF_ERROR(s.Run());
           }
           return true;
         })
      .status()
      .WithContext("keep new ids after the checkpoint");
}

Result<std::vector<std::int64_t>> SqliteLineageLog::Append(const std::vector<LineageEvent>& events) {
  std::lock_guard lock(write_mu_);
  return InWriteTxn(*writer_, [&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    ids.reserve(events.size());
    TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kAppend));
    for (const LineageEvent& e : events) {
      s.Bind(1, e.received_at).Bind(2, e.event_time).Bind(3, e.run_id).BindStatic(4, e.body);
      TM_RETURN_IF_ERROR(s.Run());
      ids.push_back(sqlite3_last_insert_rowid(writer_->handle()));
    }
    return ids;
  });
}

Result<std::vector<LineageEvent>> SqliteLineageLog::Read(std::int64_t after_id, size_t limit) {
  std::vector<LineageEvent> out;
  {
    std::lock_guard lock(read_mu_);
    TM_ASSIGN_OR_RETURN(SqliteStmt s, reader_->Prepare(kRead));
    s.Bind(1, after_id).Bind(2, static_cast<std::int64_t>(limit));
    for (;;) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(LineageEvent{s.Int(0), s.Time(1), s.Text(2), s.Time(3), s.Text(4)});
    }
  }  // the statement reset: this reader no longer pins the WAL (or a checkpoint's progress)
  return out;
}

Result<LineageLogStatus> SqliteLineageLog::GetStatus(std::int64_t projected_through) {
  std::lock_guard lock(read_mu_);
  TM_ASSIGN_OR_RETURN(SqliteStmt s, reader_->Prepare(kStatus));
  s.Bind(1, projected_through);
  TM_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Status::Internal("lineage log status returned no row");
  LineageLogStatus out;
  out.projected_through = projected_through;
  out.last_id = std::max(s.Int(0), projected_through);
  out.waiting = s.Int(1);
  out.oldest_waiting = s.OptTime(2);
  return out;
}

Result<size_t> SqliteLineageLog::Prune(std::int64_t projected_through,
                                       model::Timestamp received_before) {
  std::lock_guard lock(write_mu_);
  TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kPrune));
  s.Bind(1, projected_through).Bind(2, received_before);
  TM_RETURN_IF_ERROR(s.Run().WithContext("prune lineage events"));
  return static_cast<size_t>(writer_->Changes());
}

}  // namespace tidemark::catalog
