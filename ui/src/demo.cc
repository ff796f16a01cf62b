#include "demo.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "tidemark/model/clock.h"
#include "tidemark/pipeline/demo_data.h"
#include "tidemark/pipeline/detection.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/report.h"
#include "tidemark/pipeline/report_schedule.h"

namespace tidemark::ui {

using model::Result;

Result<DemoOutcome> PrepareDemo(catalog::Store& store, const pipeline::RoutingConfig& routing,
                                const std::string& report_dir, int report_days) {
  const model::Clock& clock = model::SystemClock();
  TM_ASSIGN_OR_RETURN(pipeline::DemoLoadReport load, pipeline::LoadDemoData(store, clock.Now()));
  if (load.stale) {
    spdlog::warn("this store holds the demo as of {}; its history does not move with the clock "
                 "once loaded: remove the store (or pass --db with a new one) to see it current",
                 model::FormatTimestamp(load.anchor));
  } else {
    spdlog::info("demo data loaded: {} dbt ingests ({} unchanged), {} metric points written, "
                 "{} already stored, in {:.0f} ms",
                 load.dbt_ingests, load.dbt_unchanged, load.points_written, load.points_skipped,
                 load.elapsed_ms);
  }

  TM_ASSIGN_OR_RETURN(pipeline::DetectionSummary detection,
                      pipeline::RunDetection(store, clock, pipeline::DetectionOptions{}));
  spdlog::info("demo detection: {} series scored, {} anomalies ({} new), {:.0f} ms",
               detection.series_scored, detection.anomalies_found, detection.anomalies_new,
               detection.elapsed_ms);
  TM_ASSIGN_OR_RETURN(pipeline::IncidentSummary incidents,
                      pipeline::UpdateIncidents(store, clock, routing, {}));
  spdlog::info("demo incidents: {} opened, {} joined, {} resolved", incidents.opened,
               incidents.joined, incidents.resolved);

  DemoOutcome out;
  catalog::AnomalyFilter all;
  all.limit = 1000000;
  TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> anomalies, store.ListAnomalies(all));
  out.anomalies = static_cast<long long>(anomalies.size());
  TM_ASSIGN_OR_RETURN(std::vector<model::Incident> open,
                      store.ListIncidents(model::IncidentState::kOpen, 1000));
  out.open_incidents = static_cast<long long>(open.size());

  // The report covers the history's recent incidents, not only last night: the demo's
  // point is to show each part of it.
  pipeline::ReportOptions options;
  options.until = clock.Now();
  options.since = options.until - std::chrono::days(report_days);
  options.title = "Tidemark demo report: acme_sales, last " + std::to_string(report_days) + " days";
  TM_ASSIGN_OR_RETURN(pipeline::ReportData report, pipeline::BuildReport(store, options));
  TM_ASSIGN_OR_RETURN(std::filesystem::path file,
                      pipeline::WriteReportFile(report_dir, options.until,
                                                pipeline::RenderReportHtml(report), 5));
  out.report_dir = report_dir;
  out.report_file = file.filename().string();
  return out;
}

}  // namespace tidemark::ui
