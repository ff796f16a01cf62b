#include "pushed_metrics_api.h"

#include "tidemark/collector/pushed_metrics.h"

namespace tidemark::ui {

model::Status AddPushedMetricsRoute(Router& router, catalog::Store& store, Metrics& metrics) {
  return router.Add(
      "POST", "/api/v1/metrics", {.name = "ingest_metrics", .scope = "ingest", .blocking = true},
      [&store, &metrics](const Request& request) {
        auto report = collector::IngestPushedMetrics(store, request.body, "request");
        metrics.RecordStoreOperation("ingest_metrics", report.status());
        if (!report.ok()) {
          metrics.RecordIngestRecords("metrics", "rejected", 1);
          return ErrorResponse(report.status());
        }
        metrics.RecordIngestRecords("metrics", "written", report->points);
        return Response::Json(201, report->ToJson());
      });
}

}  // namespace tidemark::ui
