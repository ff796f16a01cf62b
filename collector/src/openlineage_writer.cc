#include "tidemark/collector/openlineage_writer.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "openlineage_map.h"

namespace tidemark::collector {

using model::Result;
using model::Status;

namespace {

struct Pending {
  const std::vector<OpenLineageDocument>* events = nullptr;
  std::optional<Result<OpenLineageReport>> result;  // set by the writer
};

}  // namespace

struct OpenLineageWriter::State {
  catalog::Store& store;
  size_t max_group;
  std::mutex mu;
  std::condition_variable done;
  std::deque<Pending*> queue;
  bool writing = false;

  // Maps and writes one group; returns every member's result, for the caller to hand out
  // under the lock (a waiter reads its result only while holding it). Called without the lock.
  std::vector<std::pair<Pending*, Result<OpenLineageReport>>> WriteGroup(
      const std::vector<Pending*>& group) {
    std::vector<std::pair<Pending*, Result<OpenLineageReport>>> results;
    std::vector<Pending*> live = group;
    while (!live.empty()) {
      openlineage::Mapper mapper(&store);
      std::vector<OpenLineageReport> reports(live.size());
      size_t failed = live.size();
      Status failure;
      for (size_t i = 0; i < live.size() && failed == live.size(); ++i) {
        for (const OpenLineageDocument& doc : *live[i]->events) {
          if (Status s = mapper.Add(doc, reports[i]); !s.ok()) {
            failed = i;
            failure = s;
            break;
          }
        }
      }
      if (failed != live.size()) {
        results.emplace_back(live[failed], std::move(failure));
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(failed));
        continue;  // map the others again, without the bad request
      }
      catalog::WriteBatch batch;
      mapper.Flush(batch);
      auto written = store.Write(batch);
      for (size_t i = 0; i < live.size(); ++i) {
        if (!written.ok()) {
          results.emplace_back(live[i], written.status());
        } else {
          reports[i].write = *written;
          results.emplace_back(live[i], std::move(reports[i]));
        }
      }
      live.clear();
    }
    return results;
  }
};

OpenLineageWriter::OpenLineageWriter(catalog::Store& store, size_t max_group_events)
    : state_(new State{store, max_group_events, {}, {}, {}, false}) {}

OpenLineageWriter::~OpenLineageWriter() = default;

Result<OpenLineageReport> OpenLineageWriter::Ingest(
    const std::vector<OpenLineageDocument>& events) {
  auto start = std::chrono::steady_clock::now();
  Pending self;
  self.events = &events;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.queue.push_back(&self);
  while (!self.result) {
    if (s.writing) {
      s.done.wait(lock);
      continue;
    }
    // Become the writer: take what has queued, up to max_group events.
    s.writing = true;
    std::vector<Pending*> group;
    size_t n = 0;
    while (!s.queue.empty() && (group.empty() || n + s.queue.front()->events->size() <= s.max_group)) {
      n += s.queue.front()->events->size();
      group.push_back(s.queue.front());
      s.queue.pop_front();
    }
    lock.unlock();
    auto results = s.WriteGroup(group);
    lock.lock();
    for (auto& [pending, result] : results) pending->result = std::move(result);
    s.writing = false;
    s.done.notify_all();
  }
  Result<OpenLineageReport> out = std::move(*self.result);
  if (out.ok()) {
    out->elapsed_ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  }
  return out;
}

}  // namespace tidemark::collector
