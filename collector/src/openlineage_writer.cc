#include "tidemark/collector/openlineage_writer.h"

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "openlineage_map.h"
#include "tidemark/model/clock.h"

namespace tidemark::collector {

using model::Result;
using model::Status;

std::string OpenLineageAccepted::ToJson() const {
  // Numbers only: written directly, without building a JSON tree per request.
  std::string out = "{\"events\":{\"total\":" + std::to_string(events) +
                    ",\"run_events\":" + std::to_string(run_events) +
                    ",\"job_events\":" + std::to_string(job_events) +
                    ",\"dataset_events\":" + std::to_string(dataset_events) + "},\"ids\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.3f", elapsed_ms);
  out += "],\"projected\":false,\"elapsed_ms\":";
  out += elapsed;
  out += '}';
  return out;
}

Result<std::vector<catalog::LineageEvent>> ValidateForLog(
    const std::vector<OpenLineageDocument>& events, model::Timestamp received_at,
    OpenLineageReport& report) {
  std::vector<catalog::LineageEvent> out(events.size());
  openlineage::Mapper validator{openlineage::Mapper::ValidateOnly()};
  for (size_t i = 0; i < events.size(); ++i) {
    // Every check of the mapping, without building records: the projection maps it again
    // with the store, which can only add joins, never errors.
    TM_ASSIGN_OR_RETURN(openlineage::ParsedEvent parsed, openlineage::ParseEvent(events[i]));
    TM_RETURN_IF_ERROR(validator.Add(events[i], parsed, report));
    out[i].run_id = validator.last_run_id();
    out[i].event_time = validator.last_event_time();
    out[i].received_at = received_at;
    out[i].body = events[i].json_text;
  }
  return out;
}

namespace {

// One caller's validated events, waiting for the writer's thread.
struct Pending {
  std::vector<catalog::LineageEvent> events;
  OpenLineageAccepted accepted;  // the counts; the ids come from the append
  size_t logged = 0;             // events.size(), which the append moves out
  std::chrono::steady_clock::time_point start;
  OpenLineageWriter::Done done;
};

}  // namespace

struct OpenLineageWriter::State {
  catalog::Store& store;
  std::function<void()> appended;
  size_t max_group;
  std::mutex mu;
  std::condition_variable queued;
  std::deque<Pending> queue;  // guarded by mu
  bool stopping = false;      // guarded by mu
  std::thread thread;

  // The writer's thread: one group per transaction until stopped with nothing queued.
  void Loop() {
    std::vector<Pending> group;
    for (;;) {
      group.clear();
      {
        std::unique_lock lock(mu);
        queued.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and everything delivered
        size_t n = 0;
        while (!queue.empty() &&
               (group.empty() || n + queue.front().events.size() <= max_group)) {
          n += queue.front().events.size();
          group.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      AppendGroup(group);
    }
  }

  // Appends one group in one transaction and delivers each member's outcome.
  void AppendGroup(std::vector<Pending>& group) {
    std::vector<catalog::LineageEvent> all;
    for (Pending& p : group) {
      if (all.empty()) {
        all = std::move(p.events);
      } else {
        for (auto& e : p.events) all.push_back(std::move(e));
      }
    }
    auto ids = store.AppendLineageEvents(all);
    if (ids.ok() && appended) appended();
    const auto now = std::chrono::steady_clock::now();
    size_t next = 0;
    for (Pending& p : group) {
      const size_t n = p.logged;
      if (!ids.ok()) {
        p.done(ids.status());
        continue;
      }
      auto first = ids->begin() + static_cast<std::ptrdiff_t>(next);
      p.accepted.ids.assign(first, first + static_cast<std::ptrdiff_t>(n));
      p.accepted.elapsed_ms = std::chrono::duration<double, std::milli>(now - p.start).count();
      next += n;
      p.done(std::move(p.accepted));
    }
  }
};

OpenLineageWriter::OpenLineageWriter(catalog::Store& store, std::function<void()> appended,
                                     size_t max_group_events)
    : state_(new State{store, std::move(appended), max_group_events, {}, {}, {}, false, {}}) {
  state_->thread = std::thread([s = state_.get()] { s->Loop(); });
}

OpenLineageWriter::~OpenLineageWriter() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->queued.notify_one();
  state_->thread.join();
}

void OpenLineageWriter::Accept(std::vector<OpenLineageDocument> events, Done done) {
  Pending pending;
  pending.start = std::chrono::steady_clock::now();
  // Parsing and validation are most of an event's CPU and need nothing shared: done here,
  // on every caller's thread at once, and before anything is stored.
  OpenLineageReport report;
  auto validated = ValidateForLog(events, model::SystemClock().Now(), report);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  pending.events = std::move(*validated);
  pending.logged = pending.events.size();
  pending.accepted.events = report.events;
  pending.accepted.run_events = report.run_events;
  pending.accepted.job_events = report.job_events;
  pending.accepted.dataset_events = report.dataset_events;
  pending.done = std::move(done);
  {
    std::lock_guard lock(state_->mu);
    state_->queue.push_back(std::move(pending));
  }
  state_->queued.notify_one();
}

Result<OpenLineageAccepted> OpenLineageWriter::Accept(std::vector<OpenLineageDocument> events) {
  std::mutex mu;
  std::condition_variable delivered;
  std::optional<Result<OpenLineageAccepted>> outcome;
  Accept(std::move(events), [&](Result<OpenLineageAccepted> r) {
    std::lock_guard lock(mu);
    outcome.emplace(std::move(r));
    delivered.notify_one();
  });
  std::unique_lock lock(mu);
  delivered.wait(lock, [&] { return outcome.has_value(); });
  return std::move(*outcome);
}

}  // namespace tidemark::collector
