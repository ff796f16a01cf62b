#include "tidemark/pipeline/incidents.h"

#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "pipeline/fixtures.h"
#include "tidemark/pipeline/detection.h"

namespace tidemark::pipeline {
namespace {

using namespace testing;
using catalog::testing::PostgresFactory;
using catalog::testing::SqliteFileFactory;

// raw_orders -> orders -> revenue (-> revenue_dashboard, an exposure)
template <typename Factory>
class IncidentsTest : public StoreFixture<Factory> {
 protected:
  using StoreFixture<Factory>::clock_;
  using StoreFixture<Factory>::store_;
  using StoreFixture<Factory>::Write;

  void SetUp() override {
    StoreFixture<Factory>::SetUp();
    if (this->SetUpStopped()) return;
    catalog::WriteBatch batch;
    for (const char* n : {"raw_orders", "orders", "revenue", "unrelated"}) batch.PutAsset(Table(n));
    batch.PutAsset(Table("revenue_dashboard", model::AssetKind::kExposure));
    batch.ReplaceEdgesInto(Key("orders"), "test", {Edge("raw_orders", "orders")});
    batch.ReplaceEdgesInto(Key("revenue"), "test", {Edge("orders", "revenue")});
    batch.ReplaceEdgesInto(Key("revenue_dashboard"), "test", {Edge("revenue", "revenue_dashboard")});
    model::Owner team{"team:finance", model::OwnerKind::kTeam, "finance", "", "finance-alerts", ""};
    batch.PutOwner(team);
    batch.SetOwnerships(Key("raw_orders"), {{"team:finance", "owner"}});
    Write(batch);
    routing_.channels = {{"finance-alerts", ChannelKind::kWebhook, "http://127.0.0.1:9/x", "", 1000ms, ""},
                         {"ops", ChannelKind::kSlack, "http://127.0.0.1:9/y", "", 1000ms, ""}};
    routing_.default_channel = "ops";
    routing_.base_url = "https://tidemark.example.com";
  }
  // A volume drop on `asset` at day `d`, as the detection job stores it.
  void Drop(const std::string& asset, int d, model::Severity severity = model::Severity::kError) {
    catalog::WriteBatch batch;
    model::Anomaly a;
    a.asset = Key(asset);
    a.metric = "rows_affected";
    a.detector = "volume";
    a.ts = Day(d);
    a.value = 10;
    a.expected_low = 900;
    a.expected_high = 1100;
    a.score = -40;
    a.direction = "drop";
    a.severity = severity;
    a.explanation = "rows_affected dropped to 10";
    a.detected_at = Day(d);
    a.id = asset + "-drop-" + std::to_string(d);
    batch.PutAnomaly(a);
    Write(batch);
  }
  std::vector<model::Alert> Alerts() {
    auto alerts = store_->ListAlerts(std::nullopt, 1000);
    EXPECT_TRUE(alerts.ok());
    return alerts.ok() ? *alerts : std::vector<model::Alert>{};
  }
  IncidentSummary Update() {
    auto s = UpdateIncidents(*store_, clock_, routing_, options_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : IncidentSummary{};
  }

  RoutingConfig routing_;
  IncidentOptions options_;
};

using Stores = ::testing::Types<SqliteFileFactory, PostgresFactory>;
TYPED_TEST_SUITE(IncidentsTest, Stores);

TYPED_TEST(IncidentsTest, UpstreamFailureAndDownstreamDropAreOneIncidentRootedUpstream) {
  this->Drop("revenue", 60);  // the symptom downstream comes first
  this->Drop("raw_orders", 60);
  this->Drop("orders", 60);
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.opened, 1);
  EXPECT_EQ(s.joined, 2);
  auto incidents = this->store_->ListIncidents(std::nullopt, 10);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  const model::Incident& inc = (*incidents)[0];
  EXPECT_EQ(inc.root, Key("raw_orders"));
  EXPECT_EQ(inc.state, model::IncidentState::kOpen);
  auto props = nlohmann::json::parse(inc.properties);
  EXPECT_EQ(props["symptoms"].size(), 3u);
  EXPECT_EQ(props["impact"]["downstream_count"], 3);
  EXPECT_EQ(props["impact"]["dashboards"], 1);
  // Every anomaly links to it.
  auto linked = this->store_->ListAnomalies(
      {.asset = std::nullopt, .since = std::nullopt, .incident_id = inc.id, .limit = 100});
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->size(), 3u);
  // One message per channel: the routes' channel (owner's) — finance-alerts.
  auto alerts = this->Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].channel, "finance-alerts");
  EXPECT_EQ(alerts[0].event, "opened");
  auto payload = nlohmann::json::parse(alerts[0].payload);
  EXPECT_EQ(payload["root"]["key"], Key("raw_orders").ToString());
  EXPECT_EQ(payload["idempotency_key"], alerts[0].idempotency_key);

  // Running again changes nothing and sends nothing.
  IncidentSummary again = this->Update();
  EXPECT_EQ(again.opened + again.joined + again.alerts_enqueued, 0);
  EXPECT_EQ(this->Alerts().size(), 1u);
}

TYPED_TEST(IncidentsTest, UnrelatedAssetOpensItsOwnIncidentOnTheCatchAll) {
  this->Drop("orders", 60);
  this->Drop("unrelated", 60);
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.opened, 2);
  std::set<std::string> channels;
  for (const auto& a : this->Alerts()) channels.insert(a.channel);
  EXPECT_EQ(channels, (std::set<std::string>{"ops"}));  // no owner on either: catch-all
}

TYPED_TEST(IncidentsTest, LateJoinIsSuppressedThenAnnouncedAndRecoveryResolves) {
  this->Drop("raw_orders", 60);
  this->Update();
  this->clock_.Advance(10min);
  this->Drop("orders", 60);
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.joined, 1);
  EXPECT_EQ(s.alerts_enqueued, 0);  // inside the suppression interval
  this->clock_.Advance(30min);
  s = this->Update();
  EXPECT_EQ(s.alerts_enqueued, 1);
  auto alerts = this->Alerts();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1].event, "updated");

  // Both series come back in range: the incident resolves and says so.
  catalog::WriteBatch batch;
  batch.AppendMetricPoint({Key("raw_orders"), "rows_affected", Day(61), 1000});
  batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(61), 1000});
  this->Write(batch);
  this->clock_.Set(Day(61) + 1h);
  s = this->Update();
  EXPECT_EQ(s.resolved, 1);
  auto incidents = this->store_->ListIncidents(model::IncidentState::kResolved, 10);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  alerts = this->Alerts();
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[2].event, "resolved");
}

// Recovery reads the flagged points of the lookback from the grouping's own list of recent
// anomalies, and older ones from the store: either way a point flagged again keeps the
// incident open, and only unflagged points resolve it.
TYPED_TEST(IncidentsTest, PointsFlaggedAgainKeepTheIncidentOpenWhateverTheirAge) {
  for (auto lookback : {std::chrono::hours(24 * 7), std::chrono::hours(1)}) {
    SCOPED_TRACE(lookback.count());
    this->options_.lookback = lookback;
    const int d = lookback.count() > 1 ? 60 : 70;
    this->clock_.Set(Day(d));
    this->Drop("unrelated", d);
    ASSERT_EQ(this->Update().opened, 1);
    // The next point is low again and flagged, below the severity that groups: only the
    // recovery check sees it.
    catalog::WriteBatch low;
    low.AppendMetricPoint({Key("unrelated"), "rows_affected", Day(d + 1), 10});
    this->Write(low);
    this->Drop("unrelated", d + 1, model::Severity::kInfo);
    this->clock_.Set(Day(d + 1) + 10min);
    IncidentSummary s = this->Update();
    EXPECT_EQ(s.anomalies_grouped, 0);
    EXPECT_EQ(s.resolved, 0);
    EXPECT_EQ(this->store_->ListIncidents(model::IncidentState::kOpen, 10)->size(), 1u);
    // A good point after it resolves the incident.
    catalog::WriteBatch good;
    good.AppendMetricPoint({Key("unrelated"), "rows_affected", Day(d + 2), 1000});
    this->Write(good);
    this->clock_.Set(Day(d + 2) + 1h);
    s = this->Update();
    EXPECT_EQ(s.resolved, 1);
    EXPECT_TRUE(this->store_->ListIncidents(model::IncidentState::kOpen, 10)->empty());
  }
}

TYPED_TEST(IncidentsTest, FailedTestResolvesAfterPassingRuns) {
  catalog::WriteBatch batch;
  batch.PutRun(DbtRun("run-1", Day(60)));
  batch.PutNodeResult(TestResult("run-1", "test.shop.nn", "orders", "fail", Day(60)));
  this->Write(batch);
  ASSERT_TRUE(RunDetection(*this->store_, this->clock_, {}).ok());
  this->options_.recover_runs = 2;
  EXPECT_EQ(this->Update().opened, 1);
  for (int run = 2; run <= 3; ++run) {
    catalog::WriteBatch pass;
    const std::string id = "run-" + std::to_string(run);
    pass.PutRun(DbtRun(id, Day(60) + std::chrono::hours(run)));
    pass.PutNodeResult(TestResult(id, "test.shop.nn", "orders", "pass", Day(60) + std::chrono::hours(run)));
    this->Write(pass);
    this->clock_.Set(Day(60) + std::chrono::hours(run) + 1min);
    EXPECT_EQ(this->Update().resolved, run == 3 ? 1 : 0) << "after run " << run;
  }
}

TYPED_TEST(IncidentsTest, AckStopsRemindersAndManualResolveIsFinal) {
  this->Drop("orders", 60);
  IncidentSummary s = this->Update();
  ASSERT_EQ(s.opened_ids.size(), 1u);
  const std::string id = s.opened_ids[0];
  this->clock_.Advance(5h);
  EXPECT_EQ(this->Update().alerts_enqueued, 1);  // reminder
  EXPECT_EQ(this->Alerts().back().event, "reminder");

  auto acked = AcknowledgeIncident(*this->store_, this->clock_, id, "jane", this->routing_);
  ASSERT_TRUE(acked.ok()) << acked.status().ToString();
  EXPECT_EQ(acked->state, model::IncidentState::kAcknowledged);
  EXPECT_EQ(this->Alerts().back().event, "acknowledged");
  const size_t before = this->Alerts().size();
  EXPECT_TRUE(AcknowledgeIncident(*this->store_, this->clock_, id, "jane", this->routing_).ok());
  this->clock_.Advance(5h);
  this->Update();
  EXPECT_EQ(this->Alerts().size(), before);  // no reminder, no second ack message

  auto resolved = ResolveIncident(*this->store_, this->clock_, id, "jane", this->routing_);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state, model::IncidentState::kResolved);
  EXPECT_EQ(this->Alerts().back().event, "resolved");
  auto again = ResolveIncident(*this->store_, this->clock_, id, "jane", this->routing_);
  EXPECT_TRUE(again.status().IsInvalidArgument());
  EXPECT_TRUE(ResolveIncident(*this->store_, this->clock_, "inc-nope", "", this->routing_)
                  .status()
                  .IsNotFound());
}

// Two groupers — two Store objects on one database, as two instances would be — run
// UpdateIncidents over and over while anomalies keep arriving along one lineage chain: there
// must be one incident holding every symptom (no duplicate opened from a stale view, no
// symptom lost to a concurrent write of the same incident).
TYPED_TEST(IncidentsTest, ConcurrentGroupersOpenOneIncidentAndLoseNoSymptom) {
  std::unique_ptr<catalog::Store> second;
  {
    catalog::StoreOptions opts;
    opts.url = this->factory_.url;
    opts.clock = &this->clock_;
    auto s = catalog::OpenStore(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    second = std::move(*s);
  }
  constexpr int kChain = 8, kAnomalies = 40;
  catalog::WriteBatch chain;
  for (int i = 0; i < kChain; ++i) chain.PutAsset(Table("c" + std::to_string(i)));
  for (int i = 1; i < kChain; ++i) {
    const std::string down = "c" + std::to_string(i);
    chain.ReplaceEdgesInto(Key(down), "test", {Edge("c" + std::to_string(i - 1), down)});
  }
  this->Write(chain);

  // A run that keeps losing to the other grouper gives up with AlreadyExists (the next run
  // retries, as the scheduler's does); any other failure is a defect. The last run of each
  // grouper, after the anomalies stopped, retries until it completes.
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto grouper = [&](catalog::Store& store) {
    bool last = false;
    while (true) {
      if (!last) last = done.load();
      auto s = UpdateIncidents(store, this->clock_, this->routing_, this->options_);
      if (!s.ok() && s.status().code() != model::StatusCode::kAlreadyExists) {
        ++failures;
        ADD_FAILURE() << s.status().ToString();
      }
      if (last && s.ok()) return;
    }
  };
  std::thread a([&] { grouper(*this->store_); });
  std::thread b([&] { grouper(*second); });
  for (int n = 0; n < kAnomalies; ++n) {
    catalog::WriteBatch batch;
    model::Anomaly x;
    x.asset = Key("c" + std::to_string(n % kChain));
    x.metric = "rows_affected";
    x.detector = "volume";
    x.ts = Day(60) - 5h + std::chrono::minutes(n);
    x.value = 10;
    x.expected_low = 900;
    x.expected_high = 1100;
    x.severity = model::Severity::kError;
    x.explanation = "dropped";
    x.detected_at = x.ts;
    x.id = "chain-" + std::to_string(n);
    batch.PutAnomaly(x);
    this->Write(batch);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);

  auto incidents = this->store_->ListIncidents(std::nullopt, 100);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  const model::Incident& inc = (*incidents)[0];
  EXPECT_EQ(inc.root, Key("c0"));
  auto props = nlohmann::json::parse(inc.properties);
  EXPECT_EQ(props["symptoms"].size(), static_cast<size_t>(kAnomalies));
  auto linked = this->store_->ListAnomalies({.asset = std::nullopt, .since = std::nullopt,
                                             .incident_id = inc.id, .limit = 1000});
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->size(), static_cast<size_t>(kAnomalies));
}

// A write guarded by a stale version changes nothing; the current one applies and bumps it.
TYPED_TEST(IncidentsTest, GuardedWriteOverAStaleViewIsRefused) {
  this->Drop("orders", 60);
  ASSERT_EQ(this->Update().opened, 1);
  auto version = this->store_->GetCheckpoint("incidents", "version");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->value, "1");
  catalog::WriteBatch stale;
  stale.ExpectCheckpoint("incidents", "version", "");
  stale.PutAsset(Table("written_only_if_current"));
  auto refused = this->store_->Write(stale);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), model::StatusCode::kAlreadyExists);
  EXPECT_TRUE(this->store_->GetAsset(Key("written_only_if_current")).status().IsNotFound());
  catalog::WriteBatch current;
  current.ExpectCheckpoint("incidents", "version", "1");
  current.PutAsset(Table("written_only_if_current"));
  EXPECT_TRUE(this->store_->Write(current).ok());
  EXPECT_TRUE(this->store_->GetAsset(Key("written_only_if_current")).ok());
}

TYPED_TEST(IncidentsTest, LateSourceAndFailingTestDownstreamStayApart) {
  // A late raw_orders does not explain rows of orders failing a test, whichever is seen first.
  for (int order = 0; order < 2; ++order) {
    SCOPED_TRACE(order == 0 ? "lateness first" : "test failure first");
    catalog::WriteBatch batch;
    model::Anomaly late;
    late.asset = Key("raw_orders");
    late.metric = "update";
    late.detector = "freshness";
    late.severity = model::Severity::kError;
    late.explanation = "no update for 30h";
    model::Anomaly failed = late;
    failed.asset = Key("orders");
    failed.metric = "test.shop.not_null_orders_email";
    failed.detector = "dbt_test";
    failed.explanation = "test failed";
    const Timestamp base = Day(60) + std::chrono::days(3 * order);  // apart from the last
    late.ts = order == 0 ? base : base + 1h;
    failed.ts = order == 0 ? base + 1h : base;
    late.id = "late-" + std::to_string(order);
    failed.id = "failed-" + std::to_string(order);
    batch.PutAnomaly(late);
    batch.PutAnomaly(failed);
    this->Write(batch);
    this->clock_.Set(base + 2h);
    IncidentSummary s = this->Update();
    EXPECT_EQ(s.opened, 2);
    EXPECT_EQ(s.joined, 0);
  }
}

// The past, as a first run's backfill finds it: anomalies days old, on series that have
// moved on since. Routed to a chat channel and a local file channel.
template <typename Factory>
class PastIncidentsTest : public IncidentsTest<Factory> {
 protected:
  void SetUp() override {
    IncidentsTest<Factory>::SetUp();
    if (this->IsSkipped() || this->HasFatalFailure()) return;
    catalog::WriteBatch batch;
    AppendLoads(batch, "orders", 60, 5);  // normal days, before and after the drops below
    AppendLoads(batch, "raw_orders", 60, 6);
    this->Write(batch);
    this->routing_.channels.push_back(
        {"audit", ChannelKind::kFile, "/tmp/tidemark-test-audit.log", "", 1000ms, ""});
    Route all;
    all.name = "everything";
    all.channels = {"audit", "ops"};
    this->routing_.routes = {all};
    this->options_.lookback = std::chrono::days(30);
  }
  std::map<std::string, std::vector<std::string>> EventsByChannel() {
    std::map<std::string, std::vector<std::string>> out;
    for (const model::Alert& a : this->Alerts()) out[a.channel].push_back(a.event);
    for (auto& [channel, events] : out) std::sort(events.begin(), events.end());
    return out;
  }
};
TYPED_TEST_SUITE(PastIncidentsTest, Stores);

TYPED_TEST(PastIncidentsTest, RecoveredPastIncidentOpensAtItsTimeResolvedAndStaysOutOfChat) {
  this->Drop("orders", 50);  // ten days ago; every day since was normal
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.opened, 1);
  EXPECT_EQ(s.resolved, 1);
  auto incidents = this->store_->ListIncidents(std::nullopt, 10);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  const model::Incident& inc = (*incidents)[0];
  EXPECT_EQ(inc.opened_at, Day(50));
  EXPECT_EQ(inc.state, model::IncidentState::kResolved);
  auto props = nlohmann::json::parse(inc.properties);
  EXPECT_EQ(props["history"], true);
  EXPECT_EQ(props["symptoms"][0]["recovered"], true);
  // Recorded for the local file, not posted to the chat.
  using Events = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(this->EventsByChannel(), (Events{{"audit", {"opened", "resolved"}}}));

  IncidentSummary again = this->Update();
  EXPECT_EQ(again.opened + again.joined + again.resolved + again.alerts_enqueued, 0);
}

TYPED_TEST(PastIncidentsTest, PastIncidentStillFailingIsAnnouncedEverywhere) {
  catalog::WriteBatch batch;
  batch.PutRun(DbtRun("run-50", Day(50)));
  batch.PutNodeResult(TestResult("run-50", "test.shop.nn", "orders", "fail", Day(50)));
  this->Write(batch);
  ASSERT_TRUE(RunDetection(*this->store_, this->clock_, {}).ok());
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.opened, 1);
  EXPECT_EQ(s.resolved, 0);
  auto incidents = this->store_->ListIncidents(model::IncidentState::kOpen, 10);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  EXPECT_EQ((*incidents)[0].opened_at, Day(50));
  using Events = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(this->EventsByChannel(), (Events{{"audit", {"opened"}}, {"ops", {"opened"}}}));
}

TYPED_TEST(PastIncidentsTest, AnnounceWithinZeroPostsThePastToChatToo) {
  this->options_.announce_within = std::chrono::seconds(0);
  this->Drop("orders", 50);
  EXPECT_EQ(this->Update().resolved, 1);
  using Events = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(this->EventsByChannel(),
            (Events{{"audit", {"opened", "resolved"}}, {"ops", {"opened", "resolved"}}}));
}

TYPED_TEST(PastIncidentsTest, PastAnomaliesGroupByTimeAndLineage) {
  this->Drop("orders", 40);
  this->Drop("orders", 50);
  this->Drop("raw_orders", 50);  // upstream, same day: the same incident, rooted upstream
  IncidentSummary s = this->Update();
  EXPECT_EQ(s.opened, 2);
  EXPECT_EQ(s.joined, 1);
  EXPECT_EQ(s.resolved, 2);
  auto incidents = this->store_->ListIncidents(std::nullopt, 10);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 2u);
  std::map<model::Timestamp, model::Incident> by_start;
  for (const model::Incident& i : *incidents) by_start[i.opened_at] = i;
  ASSERT_TRUE(by_start.count(Day(40)));
  ASSERT_TRUE(by_start.count(Day(50)));
  EXPECT_EQ(by_start[Day(40)].root, Key("orders"));
  EXPECT_EQ(by_start[Day(50)].root, Key("raw_orders"));
  EXPECT_EQ(nlohmann::json::parse(by_start[Day(50)].properties)["symptoms"].size(), 2u);
}

}  // namespace
}  // namespace tidemark::pipeline
