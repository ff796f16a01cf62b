#pragma once

// OpenLineageWriter: the request side of the OpenLineage event log. Each caller's events are
// parsed and fully validated on the caller's own thread (every error the projection could
// find, with its JSON path), then the events of every caller waiting at the same moment are
// appended to the store's log (Store::AppendLineageEvents) in one transaction, so one commit
// (and one fsync) serves many requests. A caller hears back only once its events are
// committed, so a 2xx sent then means durable; OpenLineageProjector (openlineage_projector.h)
// turns them into catalog records a few milliseconds later.
//
// How: validated events wait in a queue; the writer's own thread takes every queued request
// (up to max_group events), appends them, hands each caller its ids, and repeats while more
// have queued meanwhile. A store error fails the whole group. The HTTP server hands a request
// to Accept() on its I/O thread and answers from the completion: no thread waits out a
// commit per request.
//
// Thread-safe. `store` must outlive the writer; `appended` (optional) is called after each
// committed group, on the writer's thread, and must be quick (it wakes the projector). The
// destructor commits what is queued and delivers every completion before it returns.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector {

// What Accept did with one caller's events.
struct OpenLineageAccepted {
  size_t events = 0;
  size_t run_events = 0, job_events = 0, dataset_events = 0;
  std::vector<std::int64_t> ids;  // the log's ids of the events, in order
  double elapsed_ms = 0;

  // The 201 body of the lineage endpoints:
  // {"events":{"total":2,"run_events":2,...},"ids":[7,8],"projected":false,"elapsed_ms":1.2}
  std::string ToJson() const;
};

// Parses and validates `events` without the store and returns them as log entries received
// at `received_at`: InvalidArgument (where: the document's name and JSON path) for the first
// invalid one, exactly as projecting it would report. `report` gets the mapping's counts.
model::Result<std::vector<catalog::LineageEvent>> ValidateForLog(
    const std::vector<OpenLineageDocument>& events, model::Timestamp received_at,
    OpenLineageReport& report);

class OpenLineageWriter {
 public:
  explicit OpenLineageWriter(catalog::Store& store, std::function<void()> appended = nullptr,
                             size_t max_group_events = 2000);
  ~OpenLineageWriter();
  OpenLineageWriter(const OpenLineageWriter&) = delete;
  OpenLineageWriter& operator=(const OpenLineageWriter&) = delete;

  using Done = std::function<void(model::Result<OpenLineageAccepted>)>;

  // Validates every event on this thread; the first invalid one calls `done` with
  // InvalidArgument before Accept returns, and nothing is logged. Otherwise queues them and
  // returns at once; the writer's thread appends them with other callers' events and calls
  // `done` with their ids once committed, or with the store's error (nothing of this call is
  // logged then). `done` is called exactly once and must be quick: the next group waits.
  void Accept(std::vector<OpenLineageDocument> events, Done done);

  // The same, waiting for the outcome.
  model::Result<OpenLineageAccepted> Accept(std::vector<OpenLineageDocument> events);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::collector
