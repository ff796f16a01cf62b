#include "demo.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tidemark/model/clock.h"
#include "tidemark/pipeline/demo_data.h"
#include "tidemark/pipeline/report.h"
#include "tidemark/pipeline/report_schedule.h"

namespace tidemark::ui {

using model::Result;

DemoPaths DemoPathsFor(std::string_view db) {
  constexpr std::string_view kSqlite = "sqlite:";
  std::filesystem::path base = ".";
  if (db.substr(0, kSqlite.size()) == kSqlite) {
    base = std::filesystem::path(db.substr(kSqlite.size())).parent_path();
    if (base.empty()) base = ".";
  }
  return {base.string(), (base / "tidemark-demo-reports").string(),
          (base / "tidemark-demo-alerts.log").string(),
          (base / "tidemark-demo-received.jsonl").string()};
}

pipeline::RoutingConfig DemoRouting(const DemoPaths& paths, const std::string& receiver_url,
                                    const std::string& secret) {
  pipeline::RoutingConfig routing;
  pipeline::Channel log;
  log.name = std::string(kDemoLogChannel);
  log.kind = pipeline::ChannelKind::kFile;
  log.url = paths.alert_log;
  pipeline::Channel receiver;
  receiver.name = std::string(kDemoReceiverChannel);
  receiver.kind = pipeline::ChannelKind::kWebhook;
  receiver.url = receiver_url;
  receiver.secret = secret;
  receiver.timeout = std::chrono::seconds(5);
  routing.channels = {log, receiver};
  pipeline::Route all;
  all.name = "demo";
  all.channels = {log.name, receiver.name};
  routing.routes = {all};
  return routing;
}

pipeline::DetectionOptions DemoDetectionOptions() {
  pipeline::DetectionOptions options;
  options.backfill = std::chrono::days(14);
  return options;
}

pipeline::IncidentOptions DemoIncidentOptions() {
  pipeline::IncidentOptions options;
  options.lookback = std::chrono::days(14);
  options.announce_within = std::chrono::seconds(0);  // the local channels get the past too
  return options;
}

Result<DemoOutcome> PrepareDemo(catalog::Store& store, const model::Clock& clock,
                                const pipeline::RoutingConfig& routing,
                                const std::string& report_dir, int report_days) {
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
                      pipeline::RunDetection(store, clock, DemoDetectionOptions()));
  spdlog::info("demo detection: {} series scored ({} backfilled), {} anomalies ({} new), "
               "{:.0f} ms",
               detection.series_scored, detection.series_backfilled, detection.anomalies_found,
               detection.anomalies_new, detection.elapsed_ms);
  TM_ASSIGN_OR_RETURN(pipeline::IncidentSummary incidents,
                      pipeline::UpdateIncidents(store, clock, routing, DemoIncidentOptions()));
  spdlog::info("demo incidents: {} opened, {} joined, {} resolved, {} alerts enqueued",
               incidents.opened, incidents.joined, incidents.resolved,
               incidents.alerts_enqueued);

  DemoOutcome out;
  catalog::AnomalyFilter all;
  all.limit = 1000000;
  TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> anomalies, store.ListAnomalies(all));
  out.anomalies = static_cast<long long>(anomalies.size());
  TM_ASSIGN_OR_RETURN(out.incidents, store.ListIncidents(std::nullopt, 1000));
  for (const model::Incident& i : out.incidents) {
    if (i.state != model::IncidentState::kResolved) ++out.open_incidents;
  }

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

std::string DemoIncidentLine(const model::Incident& incident) {
  std::set<std::string> detectors;
  nlohmann::json props = nlohmann::json::parse(incident.properties, nullptr, false);
  if (props.is_object()) {
    for (const nlohmann::json& s : props.value("symptoms", nlohmann::json::array())) {
      if (s.is_object()) detectors.insert(s.value("detector", ""));
    }
  }
  std::string kinds;
  for (const std::string& d : detectors) kinds += (kinds.empty() ? "" : ",") + d;
  std::string state(model::IncidentStateName(incident.state));
  state.resize(9, ' ');
  // "2026-12-05T17:15:00Z" -> "2026-12-05 17:15"
  std::string began = model::FormatTimestamp(incident.opened_at).substr(0, 16);
  if (began.size() > 10) began[10] = ' ';
  std::string title = incident.title;
  if (title.size() > 110) title = title.substr(0, 107) + "...";
  return state + began + "  [" + kinds + "] " + title;
}

}  // namespace tidemark::ui
