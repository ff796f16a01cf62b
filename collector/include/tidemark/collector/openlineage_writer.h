#pragma once

// OpenLineageWriter: group commit for OpenLineage events arriving on many threads at once (the
// HTTP endpoint's handlers). Each caller's events are validated on their own, but the events
// of every caller waiting at the same moment are written in one Store::Write, so one commit
// (and one fsync) serves many requests. A caller returns only once its events are committed,
// so a 2xx sent after Ingest() still means durable.
//
// How: the first caller to find no writer at work becomes the writer (no thread of its own);
// it takes every queued request (up to max_group events), maps them with one Mapper, writes,
// hands each caller its result, and repeats while more have queued meanwhile. A request whose
// event is invalid gets its InvalidArgument and is left out; the group is mapped again without
// it (rare, so the common path maps each event once). A store error fails the whole group.
//
// Thread-safe. `store` must outlive the writer.

#include <cstddef>
#include <memory>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector {

class OpenLineageWriter {
 public:
  explicit OpenLineageWriter(catalog::Store& store, size_t max_group_events = 512);
  ~OpenLineageWriter();
  OpenLineageWriter(const OpenLineageWriter&) = delete;
  OpenLineageWriter& operator=(const OpenLineageWriter&) = delete;

  // As IngestOpenLineage, committed together with other callers' events. The report's counts
  // are this call's; `write` is the whole group's.
  model::Result<OpenLineageReport> Ingest(const std::vector<OpenLineageDocument>& events);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::collector
