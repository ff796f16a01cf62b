#include "ingest_api.h"

#include "multipart.h"
#include "openlineage_api.h"
#include "pushed_metrics_api.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

// The artifacts of a multipart body: each part named for the artifact it carries.
Result<collector::DbtArtifacts> ArtifactsFromParts(std::vector<FormPart> parts) {
  collector::DbtArtifacts artifacts;
  for (FormPart& part : parts) {
    collector::DbtDocument* doc = part.name == "manifest"      ? &artifacts.manifest
                                  : part.name == "run_results" ? &artifacts.run_results
                                  : part.name == "sources"     ? &artifacts.sources
                                  : part.name == "catalog"     ? &artifacts.catalog
                                                               : nullptr;
    if (!doc) {
      return Status::InvalidArgument(
          "unknown part '" + part.name + "': expected manifest, run_results, sources or catalog",
          "body");
    }
    if (doc->present()) {
      return Status::InvalidArgument("part '" + part.name + "' appears twice", "body");
    }
    doc->name_for_errors =
        "request." + part.name + (part.filename.empty() ? "" : " (" + part.filename + ")");
    // Reserve the parser's padding now, so the document is read in place rather than copied.
    doc->json_text.reserve(part.body.size() + collector::kDbtJsonPadding);
    doc->json_text.assign(part.body);
  }
  return artifacts;
}

Result<collector::DbtArtifacts> ArtifactsFromRequest(const Request& request) {
  std::string_view content_type = request.headers.Get("Content-Type").value_or("");
  if (auto boundary = MultipartBoundary(content_type)) {
    TM_ASSIGN_OR_RETURN(auto parts, ParseMultipart(request.body, *boundary));
    return ArtifactsFromParts(std::move(parts));
  }
  return collector::DbtArtifactsFromRequestBody(request.body);
}

bool QueryFlag(const Request& request, std::string_view name) {
  auto v = request.QueryParam(name);
  return v && (*v == "true" || *v == "1" || v->empty());
}

}  // namespace

Status AddIngestRoutes(Router& router, catalog::Store& store, Metrics& metrics,
                       const OpenLineageSettings& openlineage) {
  TM_RETURN_IF_ERROR(AddOpenLineageRoutes(router, store, metrics, openlineage));
  TM_RETURN_IF_ERROR(AddPushedMetricsRoute(router, store, metrics));
  return router.Add(
      "POST", "/api/v1/ingest/dbt", {.name = "ingest_dbt", .scope = "ingest", .blocking = true},
      [&store, &metrics](const Request& request) {
        auto artifacts = ArtifactsFromRequest(request);
        if (!artifacts.ok()) {
          metrics.RecordIngestRecords("dbt", "rejected", 1);
          return ErrorResponse(artifacts.status());
        }
        collector::DbtOptions options;
        options.ns = std::string(request.QueryParam("namespace").value_or(""));
        options.project = std::string(request.QueryParam("project").value_or(""));
        options.force = QueryFlag(request, "force");
        auto report = collector::IngestDbt(store, *artifacts, options);
        metrics.RecordStoreOperation("ingest_dbt", report.status());
        if (!report.ok()) {
          metrics.RecordIngestRecords("dbt", "rejected", 1);
          return ErrorResponse(report.status());
        }
        metrics.RecordIngestRecords("dbt", "written", report->assets);
        metrics.RecordIngestRecords("dbt", "unchanged", report->assets_unchanged);
        return Response::Json(200, report->ToJson());
      });
}

}  // namespace tidemark::ui
