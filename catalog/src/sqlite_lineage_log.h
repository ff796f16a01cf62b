#pragma once

// The OpenLineage event log of a SQLite store file, kept in a database file of its own next
// to it ("catalog.db" -> "catalog.db.lineage"), so appends have their own write lock: a
// request's group commit never waits behind a projection batch writing the catalog, which
// holds the catalog file's one write lock for a long transaction.
//
// Durability: WAL with synchronous=FULL, like the catalog; an append returns once its commit
// is on disk (the promise behind the endpoint's 2xx).
//
// Exactly once across the two files: the projection checkpoint stays in the catalog file,
// committed with the records it covers, and is the only cross-file state. The log is
// append-only, ids only grow (AUTOINCREMENT), and an event is deleted only when its id is at
// or below the checkpoint (read from the catalog first). So a crash anywhere leaves either the
// records and their checkpoint, or neither, and the next projection starts after the
// checkpoint. Open() also keeps ids above the checkpoint when the log file was lost or
// replaced (new ids start after it rather than being skipped as projected).
//
// WAL checkpoints: with 64 KiB pages SQLite's automatic checkpoint (1000 pages) would copy
// 64 MiB into the file inside some append's commit, stalling its group. A thread of the log's
// own runs a passive checkpoint on a connection of its own each time an append leaves the
// WAL at kCheckpointPages or more, which does not block appends. (The projector did it after
// its reads, until it ran at the lowest priority: starved by a steady stream of requests, it
// left the appends' own checkpoint to do it, 64 MiB at a time, stalling requests for tens of
// milliseconds.) The appends' checkpoint at 1000 pages stays as a safety net.
//
// Thread-safe: a writer and a reader connection, each under its own lock, and a checkpointing
// connection that only the log's thread uses.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sqlite_db.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {

class SqliteLineageLog {
 public:
  // The log file of the store at `catalog_path`, or nullopt when the store keeps its log in
  // its own file (an in-memory database or a "file:" URI, which have no path to put one next
  // to).
  static std::optional<std::string> PathFor(const std::string& catalog_path);

  // Opens (creating) the log at `path`, then takes over the events a store written before
  // the log had its own file left in the catalog's lineage_events table (copied, then deleted
  // from the catalog: a crash between the two copies them again, harmlessly), and makes sure
  // new ids follow `projected_through`. `catalog` is the store's writer connection, held by
  // the caller.
  static model::Result<std::unique_ptr<SqliteLineageLog>> Open(const std::string& path,
                                                              const std::string& catalog_path,
                                                              SqliteDb& catalog, int busy_ms,
                                                              std::int64_t projected_through);

  // Stops the checkpointing thread.
  ~SqliteLineageLog();

  model::Result<std::vector<std::int64_t>> Append(const std::vector<LineageEvent>& events);
  model::Result<std::vector<LineageEvent>> Read(std::int64_t after_id, size_t limit);
  // The status given the checkpoint, read from the catalog before calling.
  model::Result<LineageLogStatus> GetStatus(std::int64_t projected_through);
  // Deletes events with id <= projected_through received before `received_before`.
  model::Result<size_t> Prune(std::int64_t projected_through, model::Timestamp received_before);

 private:
  SqliteLineageLog(std::unique_ptr<SqliteDb> writer, std::unique_ptr<SqliteDb> reader,
                   std::unique_ptr<SqliteDb> checkpointer)
      : writer_(std::move(writer)),
        reader_(std::move(reader)),
        checkpointer_(std::move(checkpointer)) {}

  // The checkpointing thread: a passive checkpoint each time one is wanted, until stopping.
  void CheckpointLoop();
  model::Status Adopt(const std::string& catalog_path, SqliteDb& catalog,
                      std::int64_t projected_through);

  std::mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_;
  std::mutex read_mu_;
  std::unique_ptr<SqliteDb> reader_;
  std::unique_ptr<SqliteDb> checkpointer_;  // the checkpointing thread's alone
  std::mutex wanted_mu_;  // guards what follows
  std::condition_variable wanted_cv_;
  bool checkpoint_wanted_ = false;
  bool stopping_ = false;
  std::thread checkpoint_thread_;  // last: started once everything above exists
};

}  // namespace tidemark::catalog
