#pragma once

// OpenLineageProjector: turns the OpenLineage event log (Store::AppendLineageEvents, filled
// by OpenLineageWriter) into catalog records. It reads the events after the checkpoint
// (kLineageLogScope/kLineageLogProjectedKey), maps a batch of them with one Mapper (so a job,
// dataset or run repeated within the batch is written once), and writes the records and the
// new checkpoint in ONE Store::Write: an event is projected exactly once across crashes, and
// whatever was logged but not projected when the process stopped is projected at the next
// start. The write expects the checkpoint it read (WriteBatch::ExpectCheckpoint), so two
// instances sharing a PostgreSQL never project the same events twice.
//
// Arrival order does not matter: runs merge by event time and terminal state (catalog
// MergeRun), a repeated event is a no-op, whichever batch it falls in.
//
// An event that fails to map or whose records the store refuses (it was validated before it
// was logged, so this should not happen) is skipped and recorded as checkpoint
// ("openlineage_log_failed", id) holding the error; it never blocks the log. Any other store
// error leaves the events where they are: the background loop retries with backoff.
//
// Projected events older than `retention` are pruned from the log now and then.
//
// Thread-safe. `store` must outlive the projector.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"

namespace tidemark::collector {

inline constexpr std::string_view kLineageLogFailedScope = "openlineage_log_failed";

struct OpenLineageProjectorOptions {
  // Events mapped and written together: larger batches collapse more repeats, but on SQLite
  // each holds the write lock that appends wait for (~0.3 ms per event here).
  size_t max_batch = 500;
  // Projected events are kept this long (for diagnostics and replays), then pruned.
  std::chrono::seconds retention{std::chrono::hours(24 * 7)};
  std::chrono::seconds prune_interval{std::chrono::minutes(10)};
  // Backoff after a store error, doubling up to the maximum.
  std::chrono::milliseconds min_backoff{50}, max_backoff{10000};
  // How often an idle projector looks for events appended by other processes.
  std::chrono::milliseconds idle_poll{1000};
  // While appends keep coming (a burst), projection waits until they pause for `quiet`,
  // for at most `max_defer` after it was first woken: on SQLite a projection write holds the
  // one write lock that appends need, so projecting in the middle of a burst slows the
  // requests. Under light load the lag is `quiet` plus the batch's write.
  std::chrono::milliseconds quiet{20};
  std::chrono::milliseconds max_defer{2000};
  // The background loop's thread runs at the lowest scheduling priority (Linux SCHED_IDLE):
  // any other thread that wakes (a request to validate, a group commit to answer) runs first,
  // and projection takes the CPU left over. Under an offered 10,000 events/s on two cores
  // this took the 201's p99 from ~500 ms to ~22 ms (openlineage_bench --rate). The price: a
  // process that keeps every core busy projects little until the load eases, so the backlog
  // (tidemark_openlineage_log_oldest_waiting_seconds) grows meanwhile. Within a container or
  // a systemd service the competition is the process's own threads, other cgroups' work does
  // not starve it. Leaving this priority needs privileges, so it is for the life of the
  // thread.
  bool background = false;
};

// What projection did, cumulative over the projector's life.
struct OpenLineageProjection {
  std::uint64_t events = 0;   // projected (written or skipped)
  std::uint64_t failed = 0;   // skipped because they could not be projected
  std::uint64_t batches = 0;  // Store::Write calls that committed
  std::string last_error;     // the latest store error, "" once a batch commits again
};

class OpenLineageProjector {
 public:
  explicit OpenLineageProjector(catalog::Store& store, OpenLineageProjectorOptions options = {});
  // Stops the background loop (if started), waiting for the batch in progress.
  ~OpenLineageProjector();
  OpenLineageProjector(const OpenLineageProjector&) = delete;
  OpenLineageProjector& operator=(const OpenLineageProjector&) = delete;

  // Projects every event logged so far, batch after batch, on the calling thread, and returns
  // what its writes changed. The first store error is returned (what committed before it
  // stays committed).
  model::Result<catalog::WriteSummary> ProjectAll();

  // Starts the background loop: projects what is waiting, then whenever Wake() is called
  // (or every idle_poll). Called at most once.
  void Start();
  // Events were appended: project them soon. Cheap; any thread.
  void Wake();
  // Called after each batch and each idle check with the log's status (for /metrics).
  // REQUIRES: before Start().
  void OnStatus(std::function<void(const catalog::LineageLogStatus&)> on_status);

  OpenLineageProjection Stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::collector
