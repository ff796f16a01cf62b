#include "openlineage_api.h"

#include <memory>

#include "tidemark/collector/openlineage.h"
#include "tidemark/collector/openlineage_writer.h"

namespace tidemark::ui {
namespace {

Response Ingest(collector::OpenLineageWriter& writer, Metrics& metrics,
                const model::Result<std::vector<collector::OpenLineageDocument>>& events) {
  if (!events.ok()) {
    metrics.RecordIngestRecords("openlineage", "rejected", 1);
    return ErrorResponse(events.status());
  }
  // Committed with the events of every request waiting at the same moment (group commit).
  auto report = writer.Ingest(*events);
  metrics.RecordStoreOperation("ingest_openlineage", report.status());
  if (!report.ok()) {
    metrics.RecordIngestRecords("openlineage", "rejected", events->size());
    return ErrorResponse(report.status());
  }
  metrics.RecordIngestRecords("openlineage", "written", report->events);
  // Marquez answers 201 with no body; clients ignore the body, so ours carries the summary.
  return Response::Json(201, report->ToJson());
}

}  // namespace

model::Status AddOpenLineageRoutes(Router& router, catalog::Store& store, Metrics& metrics) {
  // Shared by the two handlers below, its co-owners; lives as long as the router keeps them.
  auto writer = std::make_shared<collector::OpenLineageWriter>(store);
  TM_RETURN_IF_ERROR(router.Add(
      "POST", "/api/v1/lineage", {.name = "ingest_openlineage", .scope = "ingest", .blocking = true},
      [writer, &metrics](const Request& request) {
        std::vector<collector::OpenLineageDocument> events;
        events.push_back({"request", request.body});
        return Ingest(*writer, metrics, std::move(events));
      }));
  return router.Add("POST", "/api/v1/lineage/batch",
                    {.name = "ingest_openlineage_batch", .scope = "ingest", .blocking = true},
                    [writer, &metrics](const Request& request) {
                      return Ingest(*writer, metrics,
                                    collector::SplitOpenLineageEvents(request.body, "request"));
                    });
}

}  // namespace tidemark::ui
