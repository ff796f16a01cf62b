#include "tidemark/collector/openlineage_projector.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <thread>

#include "openlineage_map.h"
#include "tidemark/model/clock.h"

namespace tidemark::collector {

using model::Result;
using model::Status;

namespace {

Result<std::int64_t> ParseThrough(const std::string& value) {
  std::int64_t id = 0;
  if (value.empty()) return id;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
  if (ec != std::errc() || end != value.data() + value.size() || id < 0) {
    return Status::Corruption("not an event id: '" + value + "'",
                              std::string(catalog::kLineageLogScope) + "/" +
                                  std::string(catalog::kLineageLogProjectedKey));
  }
  return id;
}

void AddTo(catalog::WriteSummary& total, const catalog::WriteSummary& w) {
  total.assets_written += w.assets_written;
  total.assets_unchanged += w.assets_unchanged;
  total.assets_removed += w.assets_removed;
  total.columns_written += w.columns_written;
  total.edges_written += w.edges_written;
  total.runs_written += w.runs_written;
  total.node_results_written += w.node_results_written;
  total.points_written += w.points_written;
  total.points_skipped += w.points_skipped;
  total.snapshots_written += w.snapshots_written;
  total.snapshots_unchanged += w.snapshots_unchanged;
  total.anomalies_written += w.anomalies_written;
  total.incidents_written += w.incidents_written;
  total.alerts_enqueued += w.alerts_enqueued;
  total.alerts_skipped += w.alerts_skipped;
}

}  // namespace

struct OpenLineageProjector::State {
  State(catalog::Store& s, OpenLineageProjectorOptions o) : store(s), options(std::move(o)) {}

  catalog::Store& store;
  const OpenLineageProjectorOptions options;
  std::function<void(const catalog::LineageLogStatus&)> on_status;

  // One batch at a time (the background loop and ProjectAll). Guards the cache.
  std::mutex project_mu;
  // What is stored after our last commit, valid while the store's write generation is
  // cache_generation: a job or dataset seen again costs no reads and rewrites nothing.
  openlineage::MapperCache cache;
  std::uint64_t cache_generation = 0;

  mutable std::mutex mu;  // guards what follows
  std::condition_variable cv;
  bool woken = false;
  bool stopping = false;
  OpenLineageProjection stats;
  std::thread thread;

  // Maps events[begin, end) and writes their records with the checkpoint moved to the last
  // one's id, expecting it at `expected`. An event that does not map is left out and recorded
  // as failed, in the same write. InvalidArgument from Write: the store refused the records.
  Status WriteRange(const std::vector<catalog::LineageEvent>& events, size_t begin, size_t end,
                    const std::string& expected, bool skip_all, size_t& failed,
                    catalog::WriteSummary& summary) {
    const std::uint64_t generation = store.WriteGeneration();
    if (generation == 0 || generation != cache_generation) cache.Clear();
    openlineage::Mapper mapper(&store, generation == 0 ? nullptr : &cache);
    catalog::WriteBatch batch;
    size_t failed_here = 0;
    // The mapping's reads of stored assets, columns and keys share one read transaction: on
    // PostgreSQL, which keeps no cache between batches, each would otherwise be a transaction
    // of its own (BEGIN, SET, SELECT, COMMIT).
    TM_RETURN_IF_ERROR(store.ReadTogether([&]() -> Status {
      for (size_t i = begin; i < end; ++i) {
        const std::string id = std::to_string(events[i].id);
        Status mapped = Status::InvalidArgument("the store refused its records");
        if (!skip_all) {
          OpenLineageReport report;
          mapped = mapper.Add({"openlineage event " + id, events[i].body}, report);
        }
        if (mapped.ok()) continue;
        if (!mapped.IsInvalidArgument()) return mapped;  // a store read failed: retry later
        batch.PutCheckpoint({std::string(kLineageLogFailedScope), id, mapped.ToString(), {}});
        ++failed_here;
      }
      mapper.Flush(batch);
      return Status::Ok();
    }));
    batch.ExpectCheckpoint(std::string(catalog::kLineageLogScope),
                           std::string(catalog::kLineageLogProjectedKey), expected);
    batch.PutCheckpoint({std::string(catalog::kLineageLogScope),
                         std::string(catalog::kLineageLogProjectedKey),
                         std::to_string(events[end - 1].id),
                         {}});
    auto written = store.Write(batch);
    // generation + 1 after: ours was the only commit in between, so the cache may learn
    // what it wrote and stay valid.
    if (written.ok() && generation != 0 && store.WriteGeneration() == generation + 1) {
      mapper.Committed();
      cache_generation = generation + 1;
    } else {
      cache.Clear();
      cache_generation = 0;
    }
    if (!written.ok()) return written.status();
    failed += failed_here;
    AddTo(summary, *written);
    return Status::Ok();
  }

  // Projects the next batch; returns how many events it moved past (0: none waiting).
  Result<size_t> ProjectBatch(catalog::WriteSummary& summary) {
    std::lock_guard lock(project_mu);
    for (;;) {
      std::string expected;
      auto checkpoint = store.GetCheckpoint(catalog::kLineageLogScope,
                                            catalog::kLineageLogProjectedKey);
      if (checkpoint.ok()) {
        expected = checkpoint->value;
      } else if (!checkpoint.status().IsNotFound()) {
        return checkpoint.status();
      }
      TM_ASSIGN_OR_RETURN(std::int64_t through, ParseThrough(expected));
      TM_ASSIGN_OR_RETURN(auto events, store.ReadLineageEvents(through, options.max_batch));
      if (events.empty()) return size_t{0};
      size_t failed = 0;
      Status st = WriteRange(events, 0, events.size(), expected, false, failed, summary);
      if (st.code() == model::StatusCode::kAlreadyExists) {
        // Another instance projected meanwhile (so the log moved on): start again from its
        // checkpoint.
        continue;
      }
      if (st.IsInvalidArgument()) {
        // The store refused the batch's records: one event at a time, to skip only the
        // event at fault.
        st = Status::Ok();
        for (size_t i = 0; i < events.size() && st.ok(); ++i) {
          st = WriteRange(events, i, i + 1, expected, false, failed, summary);
          if (st.IsInvalidArgument()) {
            st = WriteRange(events, i, i + 1, expected, true, failed, summary);
          }
          if (st.ok()) expected = std::to_string(events[i].id);
        }
      }
      TM_RETURN_IF_ERROR(st);
      std::lock_guard stats_lock(mu);
      stats.events += events.size();
      stats.failed += failed;
      ++stats.batches;
      stats.last_error.clear();
      return events.size();
    }
  }

  // The log's status, also handed to on_status; nullopt when the store did not answer.
  std::optional<catalog::LineageLogStatus> ReportStatus() {
    auto status = store.GetLineageLogStatus();
    if (!status.ok()) return std::nullopt;
    if (on_status) on_status(*status);
    return *status;
  }

  // Whether the oldest waiting event may wait longer for a burst of appends to pass.
  bool MayDefer(const std::optional<catalog::LineageLogStatus>& status) const {
    return status && status->oldest_waiting &&
           model::SystemClock().Now() - *status->oldest_waiting < options.max_defer;
  }

  // Waits while appends keep waking us (a burst), until they pause for options.quiet or
  // `limit` passes. REQUIRES: `lock` holds mu.
  void LetBurstPass(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point limit) {
    while (woken && !stopping && std::chrono::steady_clock::now() < limit) {
      woken = false;
      cv.wait_for(lock, options.quiet, [&] { return stopping || woken; });
    }
  }

  void Loop() {
    auto backoff = options.min_backoff;
    auto next_prune = std::chrono::steady_clock::now();
    std::unique_lock lock(mu);
    while (!stopping) {
      woken = false;
      lock.unlock();
      catalog::WriteSummary unused;
      Result<size_t> projected = ProjectBatch(unused);
      std::optional<catalog::LineageLogStatus> status = ReportStatus();
      if (projected.ok() && std::chrono::steady_clock::now() >= next_prune) {
        next_prune = std::chrono::steady_clock::now() + options.prune_interval;
        (void)store.PruneLineageEvents(model::SystemClock().Now() - options.retention);
      }
      lock.lock();
      if (!projected.ok()) {
        stats.last_error = projected.status().ToString();
        cv.wait_for(lock, backoff, [&] { return stopping; });
        backoff = std::min(backoff * 2, options.max_backoff);
        continue;
      }
      backoff = options.min_backoff;
      if (*projected > 0) {
        // There may be more. While appends keep coming and the oldest waiting event is
        // young enough, let them pass first (see options.quiet); else project at once.
        if (woken && MayDefer(status)) {
          LetBurstPass(lock, std::chrono::steady_clock::now() + options.max_defer -
                                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     model::SystemClock().Now() - *status->oldest_waiting));
        }
        continue;
      }
      cv.wait_for(lock, options.idle_poll, [&] { return stopping || woken; });
      // Woken by an append: let a burst of them pass first.
      LetBurstPass(lock, std::chrono::steady_clock::now() + options.max_defer);
    }
  }
};

OpenLineageProjector::OpenLineageProjector(catalog::Store& store,
                                           OpenLineageProjectorOptions options)
    : state_(std::make_unique<State>(store, std::move(options))) {}

OpenLineageProjector::~OpenLineageProjector() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

Result<catalog::WriteSummary> OpenLineageProjector::ProjectAll() {
  catalog::WriteSummary summary;
  for (;;) {
    TM_ASSIGN_OR_RETURN(size_t n, state_->ProjectBatch(summary));
    if (n == 0) return summary;
  }
}

void OpenLineageProjector::Start() {
  state_->thread = std::thread([s = state_.get()] {
    if (s->options.background) {
      // Best effort: where the policy is refused the loop runs at the normal priority.
      sched_param param{};
      (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
    }
    s->Loop();
  });
  // Named for top -H and the benchmark's CPU accounting.
  pthread_setname_np(state_->thread.native_handle(), "tm-ol-project");
}

void OpenLineageProjector::Wake() {
  {
    std::lock_guard lock(state_->mu);
    state_->woken = true;
  }
  state_->cv.notify_one();
}

void OpenLineageProjector::OnStatus(
    std::function<void(const catalog::LineageLogStatus&)> on_status) {
  state_->on_status = std::move(on_status);
}

OpenLineageProjection OpenLineageProjector::Stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

}  // namespace tidemark::collector
