// The report's summary goes through the same outbox as incident alerts, so it inherits their
// promises (recorded before it is sent, retried with backoff, dead-lettered, delivered once
// per channel across instances) instead of being posted inline by the scheduler thread,
// where a slow or failing webhook would lose it.

#include "tidemark/pipeline/report_notice.h"

#include <nlohmann/json.hpp>

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;

json Counts(const ReportHeadline& h) {
  json by_detector = json::object();
  for (const auto& [detector, n] : h.anomalies_by_detector) by_detector[detector] = n;
  return {{"anomalies", h.anomalies},
          {"anomalies_by_detector", by_detector},
          {"incidents_open", h.incidents_open},
          {"incidents_opened", h.incidents_opened},
          {"incidents_resolved", h.incidents_resolved},
          {"assets", h.assets},
          {"late", h.late},
          {"dbt_model_failures", h.dbt_model_failures},
          {"dbt_test_failures", h.dbt_test_failures},
          {"schema_changes", h.schema_changes}};
}

std::string IdempotencyKey(const ReportNotice& notice, const std::string& channel) {
  return "report:" + notice.report_id + ":" + channel;
}

}  // namespace

std::string ReportSummaryPayload(const ReportData& report, const ReportNotice& notice) {
  json top = json::array();
  for (const ReportIncident& i : report.open_incidents) {
    if (top.size() >= notice.top_incidents) break;
    top.push_back({{"id", i.incident.id},
                   {"title", i.incident.title},
                   {"severity", model::SeverityName(i.incident.severity)},
                   {"state", model::IncidentStateName(i.incident.state)},
                   {"root", i.root.key.ToString()},
                   {"symptoms", i.symptoms.size()},
                   {"downstream", i.downstream.size()},
                   {"url", notice.base_url.empty()
                               ? ""
                               : notice.base_url + "/incidents/" + i.incident.id}});
  }
  json p;
  p["event"] = "report";
  p["report_id"] = notice.report_id;
  p["title"] = report.title;
  p["since"] = model::FormatTimestamp(report.since);
  p["until"] = model::FormatTimestamp(report.until);
  p["url"] = notice.url;
  p["counts"] = Counts(report.current);
  p["previous"] = Counts(report.previous);
  p["open_incident_count"] = report.open_incidents.size();
  p["top_incidents"] = top;
  return p.dump();
}

model::Result<size_t> EnqueueReportSummary(catalog::Store& store, const RoutingConfig& routing,
                                           const ReportData& report, const ReportNotice& notice,
                                           model::Timestamp now) {
  if (notice.report_id.empty()) {
    return model::Status::InvalidArgument("a report summary needs the report's id",
                                          "report.notify");
  }
  for (const std::string& channel : notice.channels) {
    if (!routing.FindChannel(channel)) {
      return model::Status::InvalidArgument("unknown channel \"" + channel + "\"",
                                            "report.notify");
    }
  }
  if (notice.channels.empty()) return size_t{0};
  const json base = json::parse(ReportSummaryPayload(report, notice));
  catalog::WriteBatch batch;
  for (const std::string& channel : notice.channels) {
    model::Alert alert;
    alert.incident_id = notice.report_id;
    alert.channel = channel;
    alert.event = "report";
    alert.idempotency_key = IdempotencyKey(notice, channel);
    alert.id = "alr-" + alert.idempotency_key;
    json payload = base;
    payload["idempotency_key"] = alert.idempotency_key;
    alert.payload = payload.dump();
    alert.created_at = now;
    alert.next_attempt_at = now;
    batch.EnqueueAlert(std::move(alert));
  }
  TM_ASSIGN_OR_RETURN(catalog::WriteSummary written, store.Write(batch));
  return written.alerts_enqueued;
}

}  // namespace tidemark::pipeline
