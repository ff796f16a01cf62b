// The nightly report's summary: enqueued once per report and channel in the outbox of a real
// store (SQLite file and PostgreSQL), delivered by the real Deliverer over loopback HTTP to a
// receiver that records what it got, in each channel's format.

#include "tidemark/pipeline/report_notice.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "pipeline/fixtures.h"
#include "pipeline/receiver.h"
#include "tidemark/pipeline/deliverer.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/notifier.h"

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;
using namespace testing;
using catalog::testing::PostgresFactory;
using catalog::testing::SqliteFileFactory;

// raw_orders -> orders, with a volume drop on raw_orders grouped into one open incident.
template <typename Factory>
class ReportNoticeTest : public StoreFixture<Factory> {
 protected:
  using StoreFixture<Factory>::clock_;
  using StoreFixture<Factory>::store_;

  void SetUp() override {
    StoreFixture<Factory>::SetUp();
    if (this->SetUpStopped()) return;
    catalog::WriteBatch batch;
    batch.PutAsset(Table("raw_orders"));
    batch.PutAsset(Table("orders"));
    batch.ReplaceEdgesInto(Key("orders"), "test", {Edge("raw_orders", "orders")});
    model::Anomaly a;
    a.asset = Key("raw_orders");
    a.metric = "rows_affected";
    a.detector = "volume";
    a.ts = Day(60) - std::chrono::hours(2);
    a.value = 10;
    a.expected_low = 900;
    a.expected_high = 1100;
    a.direction = "drop";
    a.severity = model::Severity::kError;
    a.explanation = "rows_affected dropped to 10";
    a.detected_at = a.ts;
    a.id = "raw-drop";
    batch.PutAnomaly(a);
    ASSERT_TRUE(store_->Write(batch).ok());
    // No route and no default channel: the incident itself alerts nobody, so every request
    // the receiver gets below is a report summary.
    auto grouped = UpdateIncidents(*store_, clock_, routing_, {});
    ASSERT_TRUE(grouped.ok()) << grouped.status().ToString();
    ASSERT_EQ(grouped->opened_ids.size(), 1u);
    incident_id_ = grouped->opened_ids[0];
    routing_.channels = {
        {"ops-slack", ChannelKind::kSlack, receiver_.Url("/slack"), "", 2000ms, ""},
        {"data-teams", ChannelKind::kTeams, receiver_.Url("/teams"), "", 2000ms, ""},
        {"hook", ChannelKind::kWebhook, receiver_.Url("/hook"), "s3cret", 2000ms, ""}};
    ReportOptions options;
    options.since = Day(59);
    options.until = Day(60) + std::chrono::hours(1);
    options.title = "Acme nightly report";
    auto report = BuildReport(*store_, options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    report_ = std::move(*report);
    notice_.report_id = "report-20260302T0600Z";
    notice_.base_url = "https://tidemark.example.com";
    notice_.url = notice_.base_url + "/reports/report-20260302T0600Z.html";
    notice_.channels = {"ops-slack", "data-teams", "hook"};
  }
  size_t Enqueue(const ReportNotice& notice) {
    auto n = EnqueueReportSummary(*store_, routing_, report_, notice, clock_.Now());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : 0;
  }
  size_t AlertCount() {
    auto alerts = store_->ListAlerts(std::nullopt, 100);
    EXPECT_TRUE(alerts.ok());
    return alerts.ok() ? alerts->size() : 0;
  }

  Receiver receiver_;
  RoutingConfig routing_;
  std::string incident_id_;
  ReportData report_;
  ReportNotice notice_;
};

using Stores = ::testing::Types<SqliteFileFactory, PostgresFactory>;
TYPED_TEST_SUITE(ReportNoticeTest, Stores);

TYPED_TEST(ReportNoticeTest, EnqueuedOncePerReportAndChannel) {
  EXPECT_EQ(this->Enqueue(this->notice_), 3u);
  EXPECT_EQ(this->Enqueue(this->notice_), 0u);  // the same report again: nothing new
  EXPECT_EQ(this->AlertCount(), 3u);
  auto alerts = this->store_->ListAlerts(std::nullopt, 100);
  ASSERT_TRUE(alerts.ok());
  for (const model::Alert& a : *alerts) {
    EXPECT_EQ(a.event, "report");
    EXPECT_EQ(a.incident_id, "report-20260302T0600Z");
    EXPECT_EQ(a.idempotency_key, "report:report-20260302T0600Z:" + a.channel);
    // The outbox holds channel names, never their URLs.
    EXPECT_EQ(a.payload.find("127.0.0.1"), std::string::npos);
  }
  // The next report is announced anew.
  ReportNotice next = this->notice_;
  next.report_id = "report-20260303T0600Z";
  EXPECT_EQ(this->Enqueue(next), 3u);
  EXPECT_EQ(this->AlertCount(), 6u);
}

TYPED_TEST(ReportNoticeTest, UnknownChannelEnqueuesNothing) {
  ReportNotice bad = this->notice_;
  bad.channels.push_back("nowhere");
  auto n = EnqueueReportSummary(*this->store_, this->routing_, this->report_, bad,
                                this->clock_.Now());
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(n.status().IsInvalidArgument());
  EXPECT_NE(n.status().message().find("nowhere"), std::string::npos);
  EXPECT_EQ(n.status().where(), "report.notify");
  EXPECT_EQ(this->AlertCount(), 0u);
}

TYPED_TEST(ReportNoticeTest, DeliveredInEachChannelsFormatWithTheLink) {
  ASSERT_EQ(this->Enqueue(this->notice_), 3u);
  DelivererOptions options;
  options.worker = "w1";
  options.seed = 1;
  Deliverer deliverer(*this->store_, this->clock_, this->routing_, options);
  auto stats = deliverer.Drain();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->delivered, 3);
  EXPECT_EQ(deliverer.Drain()->claimed, 0);  // delivered once

  std::map<std::string, Received> by_path;
  for (const Received& r : this->receiver_.Got()) by_path[r.target] = r;
  ASSERT_EQ(by_path.size(), 3u);
  const std::string link = this->notice_.url;
  for (auto& [path, r] : by_path) {
    EXPECT_EQ(r.headers.at("tidemark-event"), "report") << path;
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
  }

  // Slack: Block Kit with the counts, the incident and an "Open report" button.
  json slack = json::parse(by_path.at("/slack").body);
  EXPECT_EQ(slack["text"], "Acme nightly report: 1 anomalies, 1 open incidents");
  ASSERT_TRUE(slack["blocks"].is_array());
  EXPECT_EQ(slack["blocks"][0]["type"], "header");
  EXPECT_EQ(slack["blocks"][0]["text"]["text"], "Acme nightly report");
  bool button = false;
  for (const json& b : slack["blocks"]) {
    const std::string type = b["type"];
    EXPECT_TRUE(type == "header" || type == "section" || type == "actions" || type == "context");
    if (type == "section" && b.contains("fields")) {
      EXPECT_LE(b["fields"].size(), 10u);  // Block Kit's limit
      EXPECT_EQ(b["fields"][0]["text"], "*Anomalies*\n1 (+1)");
      EXPECT_EQ(b["fields"][1]["text"], "*By kind*\nvolume 1");
    }
    if (type == "actions") {
      EXPECT_EQ(b["elements"][0]["url"], link);
      button = true;
    }
  }
  EXPECT_TRUE(button);
  EXPECT_NE(slack.dump().find(this->incident_id_), std::string::npos);
  EXPECT_EQ(by_path.at("/slack").headers.at("idempotency-key"),
            "report:report-20260302T0600Z:ops-slack");

  // Teams: one Adaptive Card 1.4 with the counts as facts and the link as an action.
  json teams = json::parse(by_path.at("/teams").body);
  EXPECT_EQ(teams["type"], "message");
  const json& card = teams["attachments"][0]["content"];
  EXPECT_EQ(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_EQ(card["type"], "AdaptiveCard");
  EXPECT_EQ(card["version"], "1.4");
  EXPECT_EQ(card["body"][1]["type"], "FactSet");
  EXPECT_EQ(card["actions"][0]["type"], "Action.OpenUrl");
  EXPECT_EQ(card["actions"][0]["url"], link);

  // Generic webhook: the summary JSON itself, signed over timestamp + "." + body.
  const Received& hook = by_path.at("/hook");
  const std::string ts = hook.headers.at("tidemark-timestamp");
  EXPECT_EQ(hook.headers.at("tidemark-signature"), SignWebhook("s3cret", ts, hook.body));
  json body = json::parse(hook.body);
  EXPECT_EQ(body["event"], "report");
  EXPECT_EQ(body["report_id"], "report-20260302T0600Z");
  EXPECT_EQ(body["url"], link);
  EXPECT_EQ(body["idempotency_key"], hook.headers.at("idempotency-key"));
  EXPECT_EQ(body["counts"]["anomalies"], this->report_.current.anomalies);
  EXPECT_EQ(body["counts"]["anomalies"], 1);
  EXPECT_EQ(body["counts"]["anomalies_by_detector"]["volume"], 1);
  EXPECT_EQ(body["counts"]["incidents_open"], 1);
  ASSERT_EQ(body["top_incidents"].size(), 1u);
  EXPECT_EQ(body["top_incidents"][0]["id"], this->incident_id_);
  EXPECT_EQ(body["top_incidents"][0]["root"], Key("raw_orders").ToString());
  EXPECT_EQ(body["top_incidents"][0]["url"],
            "https://tidemark.example.com/incidents/" + this->incident_id_);
}

}  // namespace
}  // namespace tidemark::pipeline
