#pragma once

// The ingest endpoints of the HTTP API. Each validates its input whole and writes it in one
// transaction, so a 4xx means nothing was stored and a 2xx means the input is durable.
//
//   POST /api/v1/ingest/dbt[?namespace=NS&project=P&force=true]
//     body: a JSON object {"manifest": {...}, "run_results": {...}, "sources": {...},
//           "catalog": {...}} (any subset), or multipart/form-data with parts of those names
//           (curl -F manifest=@target/manifest.json -F run_results=@target/run_results.json).
//     200 with the ingest summary (counts by kind, warnings, elapsed_ms); 400 naming the part,
//     JSON path and line of the first problem.

#include "openlineage_api.h"
#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// Registers the ingest routes (scope "ingest", run on the blocking pool). `store` and
// `metrics` must outlive the router's use. `openlineage`: AddOpenLineageRoutes.
model::Status AddIngestRoutes(Router& router, catalog::Store& store, Metrics& metrics,
                              const OpenLineageSettings& openlineage = {});

}  // namespace tidemark::ui
