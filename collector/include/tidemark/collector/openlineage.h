#pragma once

// The OpenLineage collector: RunEvents, DatasetEvents and JobEvents (spec 2-0-2 and the 1.x
// events before it, as Airflow, Dagster, Spark, Flink and dbt-ol send them to Marquez) turned
// into catalog writes.
//
// Mapping, in brief (openlineage_map.cc gives the reasons):
//  - job (namespace, name) -> a kJob asset; its facets (sql, sourceCode, sourceCodeLocation,
//    jobType, documentation, ownership and any unknown one) are kept as JSON in its properties.
//  - run (runId) -> a Run: eventType -> state, eventTime -> event_time (started_at for START,
//    ended_at for COMPLETE/ABORT/FAIL), nominalTime, parent run, errorMessage -> error_message.
//    Each event adds "history/<eventTime>/<eventType>" to the run's properties, and each run
//    facet is kept under "facet/<name>": the store's run merge (catalog MergeRun) unions them,
//    so the final run does not depend on arrival order and a repeated event changes nothing.
//  - inputs/outputs -> dataset assets keyed (namespace, name) per the OpenLineage naming
//    conventions (scheme and host lower-cased, "postgresql" spelled "postgres", default ports
//    added). A dataset already in the catalog under the namespace's bare scheme (dbt's default
//    "postgres/db.schema.table") is joined rather than duplicated: the OpenLineage key becomes
//    an alias of it. symlinks identifiers become aliases too.
//  - lineage: each input -> each output, via the job (input -> job or job -> output when one
//    side is empty); columnLineage -> column-level edges.
//  - dataset facets: schema -> columns and a schema snapshot; ownership -> owners;
//    documentation -> description; outputStatistics -> rows_written / bytes_written points;
//    dataQualityMetrics -> row_count, bytes and per-column points (null_count:<col>,
//    null_rate:<col>, distinct_count:<col>, min:<col>, max:<col>, ...);
//    dataQualityAssertions -> NodeResults of kind "test" in the run; every other facet kept as
//    JSON in the asset's properties.
//
// Validation: an event that is not a JSON object, lacks eventTime, run.runId (RunEvent),
// job.namespace/job.name (RunEvent, JobEvent) or dataset.namespace/name (DatasetEvent), has a
// runId that is not a UUID, a time that does not parse, an unknown eventType or a facet of the
// wrong shape where its meaning depends on it is rejected with InvalidArgument whose where()
// names the document and the JSON path ("request: /run/runId"); nothing is stored. Unknown
// facets never fail an event.
//
// Thread-safety: the functions are reentrant. Events are appended to the store's OpenLineage
// event log in one transaction (a success means they are durable), then projected into the
// catalog (openlineage_projector.h).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/run.h"
#include "tidemark/model/status.h"

namespace tidemark::collector {

// One event's text and the name errors call it ("request", "events.ndjson line 3").
struct OpenLineageDocument {
  std::string name_for_errors;
  std::string json_text;
};

// What an ingest did; counts are of records sent to the store.
struct OpenLineageReport {
  size_t events = 0;
  size_t run_events = 0, job_events = 0, dataset_events = 0;
  size_t runs = 0;
  size_t jobs = 0;
  size_t datasets = 0;
  size_t lineage_edges = 0;
  size_t column_edges = 0;
  size_t owners = 0;
  size_t metric_points = 0;
  size_t schema_snapshots = 0;
  size_t test_results = 0;
  catalog::WriteSummary write;
  double elapsed_ms = 0;

  // The JSON summary returned by `tidemark ingest openlineage` and the lineage endpoints.
  std::string ToJson() const;
};

// Validates every event, appends all of them to the event log in one transaction, then
// projects the log (these events and any left waiting) before returning; `write` sums the
// projection's writes. InvalidArgument (where: the document's name and JSON path) for the
// first invalid event; nothing is stored then. Store errors are returned as reported.
model::Result<OpenLineageReport> IngestOpenLineage(catalog::Store& store,
                                                   const std::vector<OpenLineageDocument>& events);

// Splits a file or request body into events: a JSON object is one event, a JSON array one
// event per element ("NAME: /3"), anything else is read as NDJSON, one event per non-blank
// line ("NAME line 7"). InvalidArgument for an empty input or an array element / line that is
// not an object (JSON syntax inside a line is checked when the event is ingested).
model::Result<std::vector<OpenLineageDocument>> SplitOpenLineageEvents(std::string_view text,
                                                                      std::string_view name);

// The canonical namespace of a dataset per the OpenLineage naming conventions:
// "PostgreSQL://DB.example:5432" -> "postgres://db.example:5432", "postgres://db" ->
// "postgres://db:5432", "mysql://h" -> "mysql://h:3306"; other namespaces unchanged.
std::string CanonicalDatasetNamespace(std::string_view ns);

// One state change of a run, as recorded in its properties by this collector.
struct RunStateChange {
  model::Timestamp event_time{};
  model::RunState state = model::RunState::kOther;
  friend bool operator==(const RunStateChange&, const RunStateChange&) = default;
};
// The state changes of an OpenLineage run, oldest first (ties ordered by state name).
std::vector<RunStateChange> RunStateHistory(const model::Run& run);

}  // namespace tidemark::collector
