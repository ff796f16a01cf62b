#pragma once

// The OpenLineage endpoints, as Marquez serves them, so the OpenLineage integrations of
// Airflow, Dagster, Spark, Flink and dbt-ol send to Tidemark unchanged:
//
//   POST /api/v1/lineage        one RunEvent, DatasetEvent or JobEvent (a JSON object).
//   POST /api/v1/lineage/batch  several: a JSON array of events, or NDJSON (one per line).
//
// 201 with the ingest summary once the events are committed (a 2xx means durable); 400 with
// the JSON path of the first problem ("request: /run/runId", "request: /3: /eventTime") and
// nothing stored; 413 from the server when the body is over server.body_limit.

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// Registers both routes (scope "ingest", run on the blocking pool). `store` and `metrics`
// must outlive the router's use.
model::Status AddOpenLineageRoutes(Router& router, catalog::Store& store, Metrics& metrics);

}  // namespace tidemark::ui
