#include "openlineage_api.h"

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "tidemark/collector/openlineage.h"
#include "tidemark/collector/openlineage_projector.h"
#include "tidemark/collector/openlineage_writer.h"
#include "tidemark/model/clock.h"

namespace tidemark::ui {
namespace {

// The event log's two ends, shared by the route handlers (their co-owners); the projector's
// thread stops when the last handler goes, before the store does.
struct LineageLog {
  LineageLog(catalog::Store& store, Metrics& metrics, const OpenLineageSettings& settings)
      : waiting(metrics.registry()
                    .AddGauge("tidemark_openlineage_log_waiting",
                              "OpenLineage events accepted and not yet projected into the catalog")
                    .Get()),
        oldest_age(metrics.registry()
                       .AddGauge("tidemark_openlineage_log_oldest_waiting_seconds",
                                 "Age of the oldest OpenLineage event waiting for projection")
                       .Get()),
        projected_through(metrics.registry()
                              .AddGauge("tidemark_openlineage_log_projected_through",
                                        "Id of the last OpenLineage event projected")
                              .Get()),
        projector(store, ProjectorOptions(settings)),
        writer(store, [this] { projector.Wake(); }) {
    projector.OnStatus([this](const catalog::LineageLogStatus& s) { Record(s); });
    projector.Start();
  }

  void Record(const catalog::LineageLogStatus& s) {
    waiting.Set(static_cast<double>(s.waiting));
    projected_through.Set(static_cast<double>(s.projected_through));
    oldest_age.Set(s.oldest_waiting ? AgeSeconds(*s.oldest_waiting) : 0);
  }

  static collector::OpenLineageProjectorOptions ProjectorOptions(
      const OpenLineageSettings& settings) {
    collector::OpenLineageProjectorOptions options;
    options.retention = std::chrono::duration_cast<std::chrono::seconds>(settings.retention);
    options.background = settings.background;
    return options;
  }

  static double AgeSeconds(model::Timestamp t) {
    return std::chrono::duration<double>(model::SystemClock().Now() - t).count();
  }

  Gauge& waiting;
  Gauge& oldest_age;
  Gauge& projected_through;
  collector::OpenLineageProjector projector;  // before the writer, which wakes it
  collector::OpenLineageWriter writer;
};

// Validates on the calling I/O thread and responds once the events are committed, with those
// of every request waiting at the same moment (group commit).
void Ingest(LineageLog& log, Metrics& metrics,
            model::Result<std::vector<collector::OpenLineageDocument>> events, Respond respond) {
  if (!events.ok()) {
    metrics.RecordIngestRecords("openlineage", "rejected", 1);
    respond(ErrorResponse(events.status()));
    return;
  }
  const size_t count = events->size();
  log.writer.Accept(std::move(*events), [&metrics, count, respond = std::move(respond)](
                                             model::Result<collector::OpenLineageAccepted> r) {
    metrics.RecordStoreOperation("ingest_openlineage", r.status());
    if (!r.ok()) {
      metrics.RecordIngestRecords("openlineage", "rejected", count);
      respond(ErrorResponse(r.status()));
      return;
    }
    metrics.RecordIngestRecords("openlineage", "written", r->events);
    // Marquez answers 201 with no body; clients ignore the body, so ours carries the log ids.
    respond(Response::Json(201, r->ToJson()));
  });
}

Response Status(LineageLog& log, catalog::Store& store) {
  auto status = store.GetLineageLogStatus();
  if (!status.ok()) return ErrorResponse(status.status());
  log.Record(*status);
  collector::OpenLineageProjection p = log.projector.Stats();
  nlohmann::ordered_json body = {
      {"last_id", status->last_id},
      {"projected_through", status->projected_through},
      {"waiting", status->waiting},
      {"oldest_waiting_age_s", nullptr},
      {"projector",
       {{"events", p.events}, {"failed", p.failed}, {"batches", p.batches},
        {"last_error", p.last_error}}}};
  if (status->oldest_waiting) {
    body["oldest_waiting_age_s"] = LineageLog::AgeSeconds(*status->oldest_waiting);
  }
  return Response::Json(200, body.dump(-1, ' ', false,
                                       nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace

model::Status AddOpenLineageRoutes(Router& router, catalog::Store& store, Metrics& metrics,
                                   const OpenLineageSettings& settings) {
  auto log = std::make_shared<LineageLog>(store, metrics, settings);
  TM_RETURN_IF_ERROR(router.AddDeferred(
      "POST", "/api/v1/lineage", {.name = "ingest_openlineage", .scope = "ingest"},
      [log, &metrics](Request& request, Respond respond) {
        std::vector<collector::OpenLineageDocument> events;
        events.push_back({"request", std::move(request.body)});
        Ingest(*log, metrics, std::move(events), std::move(respond));
      }));
  TM_RETURN_IF_ERROR(router.Add(
      "GET", "/api/v1/lineage/status",
      {.name = "openlineage_status", .scope = "read", .blocking = true},
      [log, &store](const Request&) { return Status(*log, store); }));
  return router.AddDeferred(
      "POST", "/api/v1/lineage/batch", {.name = "ingest_openlineage_batch", .scope = "ingest"},
      [log, &metrics](Request& request, Respond respond) {
        Ingest(*log, metrics, collector::SplitOpenLineageEvents(request.body, "request"),
               std::move(respond));
      });
}

}  // namespace tidemark::ui
