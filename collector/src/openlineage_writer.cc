#include "tidemark/collector/openlineage_writer.h"

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

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

namespace {

struct Pending {
  std::vector<catalog::LineageEvent> events;
  std::optional<Result<std::vector<std::int64_t>>> result;  // set by the writer
  // Woken when `result` is set, or when this one heads the queue and nobody writes: one
  // wake-up per waiter and group, not every waiter's on every commit.
  std::condition_variable wake;
};

}  // namespace

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

struct OpenLineageWriter::State {
  catalog::Store& store;
  std::function<void()> appended;
  size_t max_group;
  std::mutex mu;
  std::deque<Pending*> queue;
  bool writing = false;

  // Appends one group in one transaction; returns each member's ids (or the error), for the
  // caller to hand out under the lock (a waiter reads its result only while holding it).
  // Called without the lock.
  std::vector<Result<std::vector<std::int64_t>>> AppendGroup(const std::vector<Pending*>& group) {
    std::vector<catalog::LineageEvent> all;
    std::vector<size_t> sizes;
    for (Pending* p : group) {
      sizes.push_back(p->events.size());
      if (all.empty()) {
        all = std::move(p->events);
      } else {
        for (auto& e : p->events) all.push_back(std::move(e));
      }
    }
    auto ids = store.AppendLineageEvents(all);
    std::vector<Result<std::vector<std::int64_t>>> out;
    size_t next = 0;
    for (size_t n : sizes) {
      if (!ids.ok()) {
        out.emplace_back(ids.status());
      } else {
        auto first = ids->begin() + static_cast<std::ptrdiff_t>(next);
        out.emplace_back(std::vector<std::int64_t>(first, first + static_cast<std::ptrdiff_t>(n)));
      }
      next += n;
    }
    if (ids.ok() && appended) appended();
    return out;
  }
};

OpenLineageWriter::OpenLineageWriter(catalog::Store& store, std::function<void()> appended,
                                     size_t max_group_events)
    : state_(new State{store, std::move(appended), max_group_events, {}, {}, false}) {}

OpenLineageWriter::~OpenLineageWriter() = default;

Result<OpenLineageAccepted> OpenLineageWriter::Accept(
    const std::vector<OpenLineageDocument>& events) {
  auto start = std::chrono::steady_clock::now();
  Pending self;
  // Parsing and validation are most of an event's CPU and need nothing shared: done here,
  // on every caller's thread at once, and before anything is stored.
  OpenLineageReport report;
  TM_ASSIGN_OR_RETURN(self.events, ValidateForLog(events, model::SystemClock().Now(), report));
  OpenLineageAccepted accepted;
  accepted.events = report.events;
  accepted.run_events = report.run_events;
  accepted.job_events = report.job_events;
  accepted.dataset_events = report.dataset_events;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.queue.push_back(&self);
  while (!self.result) {
    if (s.writing) {
      self.wake.wait(lock);
      continue;
    }
    // Become the writer: take what has queued, up to max_group events.
    s.writing = true;
    std::vector<Pending*> group;
    size_t n = 0;
    while (!s.queue.empty() &&
           (group.empty() || n + s.queue.front()->events.size() <= s.max_group)) {
      n += s.queue.front()->events.size();
      group.push_back(s.queue.front());
      s.queue.pop_front();
    }
    lock.unlock();
    auto results = s.AppendGroup(group);
    lock.lock();
    for (size_t i = 0; i < group.size(); ++i) {
      group[i]->result = std::move(results[i]);
      group[i]->wake.notify_one();
    }
    s.writing = false;
    if (!s.queue.empty()) s.queue.front()->wake.notify_one();  // it writes the next group
  }
  TM_ASSIGN_OR_RETURN(accepted.ids, std::move(*self.result));
  accepted.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return accepted;
}

}  // namespace tidemark::collector
