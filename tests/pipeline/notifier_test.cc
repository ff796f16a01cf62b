#include "tidemark/pipeline/notifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tidemark/pipeline/report_notice.h"

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;

// A payload as incidents.cc writes it into the outbox.
model::Alert SampleAlert(const std::string& event) {
  json p = {{"incident_id", "inc-0123456789abcdef"},
            {"event", event},
            {"sequence", event == "opened" ? 1 : 2},
            {"title", "raw_orders: rows_affected dropped to 10, expected 900 to 1100"},
            {"state", event == "resolved" ? "resolved" : "open"},
            {"severity", "error"},
            {"root", {{"key", "postgres://db:5432/shop.raw.raw_orders"},
                      {"name", "shop.raw.raw_orders"},
                      {"url", "https://tidemark.example.com/assets/postgres://db:5432/shop.raw.raw_orders"}}},
            {"opened_at", "2026-03-02T06:00:00Z"},
            {"updated_at", "2026-03-02T06:00:00Z"},
            {"resolved_at", event == "resolved" ? json("2026-03-02T09:00:00Z") : json()},
            {"symptoms",
             {{{"asset", "postgres://db:5432/shop.raw.raw_orders"}, {"metric", "rows_affected"},
               {"detector", "volume"}, {"severity", "error"}, {"ts", "2026-03-02T06:00:00Z"},
               {"value", 10}, {"expected_low", 900}, {"expected_high", 1100},
               {"explanation", "rows_affected dropped to 10, expected 900 to 1100"}}}},
            {"symptom_count", 1},
            {"impact", {{"downstream_count", 3}, {"dashboards", 1}, {"top", {"revenue_dashboard", "orders"}}}},
            {"owners", {"team:finance"}},
            {"resolution", event == "resolved" ? "automatic: every symptom recovered" : ""},
            {"url", "https://tidemark.example.com/incidents/inc-0123456789abcdef"},
            {"ack_url", "https://tidemark.example.com/api/v1/incidents/inc-0123456789abcdef/ack"}};
  model::Alert a;
  a.id = "alr-1";
  a.incident_id = "inc-0123456789abcdef";
  a.channel = "c";
  a.event = event;
  a.idempotency_key = "inc-0123456789abcdef:" + event + ":1:c";
  a.payload = p.dump();
  return a;
}

// The golden file's JSON; with TIDEMARK_UPDATE_GOLDEN=1, (re)writes it from `actual` first.
std::string Golden(const std::string& name, const json& actual) {
  const char* src = std::getenv("TIDEMARK_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/tests/data/alerts/" + name;
  if (const char* update = std::getenv("TIDEMARK_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << actual.dump(2) << "\n";
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json Render(ChannelKind kind, const std::string& event) {
  Channel c{"c", kind, "https://example.invalid/x", "", std::chrono::milliseconds(1000), ""};
  auto m = RenderAlert(c, SampleAlert(event), model::FromMicros(1772430000000000));
  EXPECT_TRUE(m.ok());
  return m.ok() ? json::parse(m->body) : json();
}

TEST(NotifierTest, SlackMessageIsBlockKitAndMatchesGolden) {
  for (const std::string event : {"opened", "resolved"}) {
    json msg = Render(ChannelKind::kSlack, event);
    ASSERT_TRUE(msg["text"].is_string());
    ASSERT_TRUE(msg["blocks"].is_array());
    for (const json& b : msg["blocks"]) {
      const std::string type = b["type"];
      EXPECT_TRUE(type == "header" || type == "section" || type == "actions" || type == "context")
          << type;
      if (type == "header") {
        EXPECT_EQ(b["text"]["type"], "plain_text");
        EXPECT_LE(b["text"]["text"].get<std::string>().size(), 150u);
      }
      if (type == "actions") {
        for (const json& e : b["elements"]) EXPECT_EQ(e["type"], "button");
      }
    }
    EXPECT_NE(msg.dump().find("inc-0123456789abcdef:" + event), std::string::npos);
    EXPECT_EQ(msg, json::parse(Golden("slack_" + event + ".json", msg))) << msg.dump(2);
  }
}

TEST(NotifierTest, TeamsMessageIsAnAdaptiveCardAndMatchesGolden) {
  for (const std::string event : {"opened", "resolved"}) {
    json msg = Render(ChannelKind::kTeams, event);
    EXPECT_EQ(msg["type"], "message");
    ASSERT_EQ(msg["attachments"].size(), 1u);
    EXPECT_EQ(msg["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    const json& card = msg["attachments"][0]["content"];
    EXPECT_EQ(card["type"], "AdaptiveCard");
    EXPECT_EQ(card["version"], "1.4");
    EXPECT_EQ(msg, json::parse(Golden("teams_" + event + ".json", msg))) << msg.dump(2);
  }
}

TEST(NotifierTest, WebhookIsSignedOverTimestampAndBody) {
  Channel c{"c", ChannelKind::kWebhook, "https://example.invalid/x", "key", std::chrono::milliseconds(1000), ""};
  auto m = RenderAlert(c, SampleAlert("opened"), model::FromMicros(1772430000000000));
  ASSERT_TRUE(m.ok());
  std::map<std::string, std::string> h(m->headers.begin(), m->headers.end());
  EXPECT_EQ(h["Tidemark-Timestamp"], "1772430000");
  EXPECT_EQ(h["Tidemark-Signature"], SignWebhook("key", "1772430000", m->body));
  EXPECT_EQ(h["Idempotency-Key"], "inc-0123456789abcdef:opened:1:c");
  // Computed independently: python3 hmac.new(b"Jefe", b"1700000000.what do ya want for
  // nothing?", hashlib.sha256).hexdigest()
  EXPECT_EQ(SignWebhook("Jefe", "1700000000", "what do ya want for nothing?"),
            "v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
}

// A report summary as report_notice.cc writes it into the outbox.
model::Alert SampleReportAlert() {
  ReportData report;
  report.title = "Acme nightly report";
  report.since = *model::ParseTimestamp("2026-03-01T06:00:00Z");
  report.until = *model::ParseTimestamp("2026-03-02T06:00:00Z");
  report.current.anomalies = 4;
  report.current.anomalies_by_detector = {{"freshness", 1}, {"volume", 3}};
  report.current.incidents_open = 2;
  report.current.incidents_opened = 2;
  report.current.late = 1;
  report.current.dbt_test_failures = 1;
  report.previous.anomalies = 6;
  report.previous.incidents_open = 1;
  ReportIncident inc;
  inc.incident.id = "inc-0123456789abcdef";
  inc.incident.title = "raw_orders: rows_affected dropped to 10, expected 900 to 1100";
  inc.incident.severity = model::Severity::kError;
  inc.root.key = {"postgres://db:5432", "shop.raw.raw_orders"};
  inc.symptoms.resize(2);
  inc.downstream.resize(3);
  report.open_incidents = {inc, inc};
  report.open_incidents[1].incident.id = "inc-fedcba9876543210";
  report.open_incidents[1].incident.severity = model::Severity::kWarn;
  ReportNotice notice;
  notice.report_id = "report-20260302T0600Z";
  notice.base_url = "https://tidemark.example.com";
  notice.url = "https://tidemark.example.com/reports/report-20260302T0600Z.html";
  notice.top_incidents = 1;
  model::Alert a;
  a.id = "alr-r";
  a.incident_id = notice.report_id;
  a.channel = "c";
  a.event = "report";
  a.idempotency_key = "report:report-20260302T0600Z:c";
  a.payload = ReportSummaryPayload(report, notice);
  return a;
}

json RenderReport(ChannelKind kind) {
  Channel c{"c", kind, "https://example.invalid/x", "", std::chrono::milliseconds(1000), ""};
  auto m = RenderAlert(c, SampleReportAlert(), model::FromMicros(1772430000000000));
  EXPECT_TRUE(m.ok());
  return m.ok() ? json::parse(m->body) : json();
}

TEST(NotifierTest, ReportSummaryIsBlockKitAndAnAdaptiveCardMatchingGoldens) {
  json slack = RenderReport(ChannelKind::kSlack);
  EXPECT_EQ(slack["text"], "Acme nightly report: 4 anomalies, 2 open incidents");
  for (const json& b : slack["blocks"]) {
    const std::string type = b["type"];
    EXPECT_TRUE(type == "header" || type == "section" || type == "actions" || type == "context");
    if (b.contains("fields")) {
      EXPECT_LE(b["fields"].size(), 10u);
    }
  }
  const std::string text = slack.dump();
  EXPECT_NE(text.find("4 (-2)"), std::string::npos);
  EXPECT_NE(text.find("freshness 1 · volume 3"), std::string::npos);
  EXPECT_NE(text.find("<https://tidemark.example.com/incidents/inc-0123456789abcdef|"),
            std::string::npos);
  EXPECT_NE(text.find("… and 1 more"), std::string::npos);
  EXPECT_EQ(slack, json::parse(Golden("slack_report.json", slack))) << slack.dump(2);

  json teams = RenderReport(ChannelKind::kTeams);
  const json& card = teams["attachments"][0]["content"];
  EXPECT_EQ(card["type"], "AdaptiveCard");
  EXPECT_EQ(card["version"], "1.4");
  EXPECT_EQ(card["actions"][0]["url"],
            "https://tidemark.example.com/reports/report-20260302T0600Z.html");
  EXPECT_EQ(teams, json::parse(Golden("teams_report.json", teams))) << teams.dump(2);
}

TEST(NotifierTest, RedactedUrlHidesPathAndToken) {
  Channel c{"c", ChannelKind::kSlack, "https://hooks.slack.com/services/T0/B0/XXXX", "", {}, ""};
  EXPECT_EQ(c.RedactedUrl(), "https://hooks.slack.com/***");
}

}  // namespace
}  // namespace tidemark::pipeline
