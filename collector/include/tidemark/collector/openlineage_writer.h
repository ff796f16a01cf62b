#pragma once

// OpenLineageWriter: the request side of the OpenLineage event log. Each caller's events are
// parsed and fully validated on the caller's own thread (every error the projection could
// find, with its JSON path), then the events of every caller waiting at the same moment are
// appended to the store's log (Store::AppendLineageEvents) in one transaction, so one commit
// (and one fsync) serves many requests. A caller returns only once its events are committed,
// so a 2xx sent after Accept() means durable; OpenLineageProjector (openlineage_projector.h)
// turns them into catalog records a few milliseconds later.
//
// How: the first caller to find no writer at work becomes the writer (no thread of its own);
// it takes every queued request (up to max_group events), appends them, hands each caller
// its ids, and repeats while more have queued meanwhile. A store error fails the whole group.
//
// Thread-safe. `store` must outlive the writer; `appended` (optional) is called after each
// committed group, on the appending thread, and must be quick (it wakes the projector).

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

  // Validates every event (InvalidArgument for the first invalid one; nothing is logged),
  // then appends them all to the log, committed together with other callers' events.
  // Store errors are returned as the store reported them; nothing of this call is logged then.
  model::Result<OpenLineageAccepted> Accept(const std::vector<OpenLineageDocument>& events);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::collector
