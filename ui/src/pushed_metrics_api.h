#pragma once

// POST /api/v1/metrics: pushed stats (CSV with a header row, JSON lines or a JSON array; see
// tidemark/collector/pushed_metrics.h). 201 with {points, datasets, written} once committed;
// 400 naming the line and field of the first problem, nothing stored.

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// Scope "ingest", blocking pool. `store` and `metrics` must outlive the router's use.
model::Status AddPushedMetricsRoute(Router& router, catalog::Store& store, Metrics& metrics);

}  // namespace tidemark::ui
