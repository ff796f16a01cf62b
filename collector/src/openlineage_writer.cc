#include "tidemark/collector/openlineage_writer.h"

#include <chrono>
#include <cstdint>
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
  // events[i] parsed by the caller's own thread; empty when one of them is not JSON.
  std::vector<openlineage::ParsedEvent> parsed;
  std::optional<Result<OpenLineageReport>> result;  // set by the writer
  // Woken when `result` is set, or when this one heads the queue and nobody writes: one
  // wake-up per waiter and group, not every waiter's on every commit.
  std::condition_variable wake;
};

}  // namespace

struct OpenLineageWriter::State {
  catalog::Store& store;
  size_t max_group;
  std::mutex mu;
  std::deque<Pending*> queue;
  bool writing = false;
  // Used by the writer of the moment alone (one at a time), so unguarded: what is stored
  // after our last commit, valid while the store's write generation is cache_generation.
  openlineage::MapperCache cache;
  std::uint64_t cache_generation = 0;

  // Maps and writes one group; returns every member's result, for the caller to hand out
  // under the lock (a waiter reads its result only while holding it). Called without the lock.
  std::vector<std::pair<Pending*, Result<OpenLineageReport>>> WriteGroup(
      const std::vector<Pending*>& group) {
    std::vector<std::pair<Pending*, Result<OpenLineageReport>>> results;
    std::vector<Pending*> live = group;
    // Somebody else wrote since our last commit (or the store does not say): forget.
    const std::uint64_t generation = store.WriteGeneration();
    if (generation == 0 || generation != cache_generation) cache.Clear();
    while (!live.empty()) {
      openlineage::Mapper mapper(&store, generation == 0 ? nullptr : &cache);
      std::vector<OpenLineageReport> reports(live.size());
      size_t failed = live.size();
      Status failure;
      for (size_t i = 0; i < live.size() && failed == live.size(); ++i) {
        const Pending& p = *live[i];
        for (size_t e = 0; e < p.events->size(); ++e) {
          const OpenLineageDocument& doc = (*p.events)[e];
          Status s = p.parsed.empty() ? mapper.Add(doc, reports[i])
                                      : mapper.Add(doc, p.parsed[e], reports[i]);
          if (!s.ok()) {
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
      // generation + 1 after: ours was the only commit in between, so the cache may learn
      // what it wrote and stay valid.
      const std::uint64_t after = store.WriteGeneration();
      if (written.ok() && generation != 0 && after == generation + 1) {
        mapper.Committed();
        cache_generation = after;
      } else {
        cache.Clear();
        cache_generation = 0;
      }
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
    : state_(new State{store, max_group_events, {}, {}, false, {}, 0}) {}

OpenLineageWriter::~OpenLineageWriter() = default;

Result<OpenLineageReport> OpenLineageWriter::Ingest(
    const std::vector<OpenLineageDocument>& events) {
  auto start = std::chrono::steady_clock::now();
  Pending self;
  self.events = &events;
  // Parsing is most of an event's CPU and needs nothing shared: done here, on every caller's
  // thread at once, rather than by the writer for the whole group.
  self.parsed.reserve(events.size());
  // When one is not JSON the writer parses them again in turn, so the error reported is
  // the first invalid event's, whatever made it invalid.
  for (const OpenLineageDocument& doc : events) {
    auto parsed = openlineage::ParseEvent(doc);
    if (!parsed.ok()) {
      self.parsed.clear();
      break;
    }
    self.parsed.push_back(std::move(parsed).value());
  }
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
    while (!s.queue.empty() && (group.empty() || n + s.queue.front()->events->size() <= s.max_group)) {
      n += s.queue.front()->events->size();
      group.push_back(s.queue.front());
      s.queue.pop_front();
    }
    lock.unlock();
    auto results = s.WriteGroup(group);
    lock.lock();
    for (auto& [pending, result] : results) {
      pending->result = std::move(result);
      pending->wake.notify_one();
    }
    s.writing = false;
    if (!s.queue.empty()) s.queue.front()->wake.notify_one();  // it writes the next group
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
