#pragma once

// The OpenLineage endpoints, as Marquez serves them, so the OpenLineage integrations of
// Airflow, Dagster, Spark, Flink and dbt-ol send to Tidemark unchanged:
//
//   POST /api/v1/lineage        one RunEvent, DatasetEvent or JobEvent (a JSON object).
//   POST /api/v1/lineage/batch  several: a JSON array of events, or NDJSON (one per line).
//
//   GET  /api/v1/lineage/status the event log: {"last_id":9,"projected_through":7,"waiting":2,
//                               "oldest_waiting_age_s":0.004,"projector":{...}}
//
// 201 once the events are validated and committed to the event log (a 2xx means durable),
// with their log ids: {"events":{"total":1,...},"ids":[9],"projected":false}. The catalog
// shows them once the background projector has caught up (milliseconds when idle): a client
// that must read its writes waits until projected_through >= its last id. 400 with the JSON
// path of the first problem ("request: /run/runId", "request: /3: /eventTime") and nothing
// stored; 413 from the server when the body is over server.body_limit. /metrics exports
// tidemark_openlineage_log_waiting, _oldest_waiting_seconds and _projected_through.

#include <chrono>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// The projector's settings from the config's `openlineage` section.
struct OpenLineageSettings {
  // Projected events older than this are pruned (openlineage.retention).
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  // The projector at the lowest scheduling priority (openlineage.projector_priority:
  // background; OpenLineageProjectorOptions::background). Off here, so that a test waiting
  // for projection is not starved by the tests running beside it; `serve` turns it on.
  bool background = false;
};

// Registers the routes (ingest: scope "ingest"; status: scope "read"; blocking pool) and
// starts the projector, which runs until the router lets go of the handlers. `store` and
// `metrics` must outlive the router's use.
model::Status AddOpenLineageRoutes(Router& router, catalog::Store& store, Metrics& metrics,
                                   const OpenLineageSettings& settings = {});

}  // namespace tidemark::ui
