#include "tidemark/pipeline/detection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <map>
#include <string>
#include <vector>

#include "pipeline/fixtures.h"

namespace tidemark::pipeline {
namespace {

using namespace testing;
using catalog::testing::PostgresFactory;
using catalog::testing::SqliteFileFactory;

template <typename Factory>
class DetectionTest : public StoreFixture<Factory> {
 protected:
  using StoreFixture<Factory>::clock_;
  using StoreFixture<Factory>::store_;
  using StoreFixture<Factory>::Write;

  // Daily loads of "orders" over days [0, 60) with a drop on each day of `drops`; the clock
  // is at day 60.
  void WriteLoadsWithDrops(const std::vector<int>& drops, unsigned seed) {
    catalog::WriteBatch batch;
    batch.PutAsset(Table("orders"));
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 15);
    for (int d = 0; d < 60; ++d) {
      const bool drop = std::find(drops.begin(), drops.end(), d) != drops.end();
      const double rows = std::round(1000 + noise(rng));
      batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(d), drop ? 120.0 : rows});
    }
    Write(batch);
  }

};

using Stores = ::testing::Types<SqliteFileFactory, PostgresFactory>;
TYPED_TEST_SUITE(DetectionTest, Stores);

TYPED_TEST(DetectionTest, FlagsADropOnceAndTwiceAddsNothing) {
  const unsigned seed = 7;
  SCOPED_TRACE("seed " + std::to_string(seed));
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  batch.PutAsset(Table("calm"));
  AppendLoads(batch, "orders", 59, seed);
  batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(59), 120});  // the drop
  AppendLoads(batch, "calm", 60, seed + 1);
  this->Write(batch);

  auto first = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->assets, 2);
  EXPECT_EQ(first->series_scored, 2);
  ASSERT_EQ(first->anomalies_new, 1) << first->ToJson();
  const model::Anomaly& a = first->new_anomalies[0];
  EXPECT_EQ(a.asset, Key("orders"));
  EXPECT_EQ(a.detector, "volume");
  EXPECT_EQ(a.direction, "drop");
  EXPECT_EQ(a.ts, Day(59));
  EXPECT_EQ(a.value, 120);

  auto stored = this->store_->ListAnomalies({});
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].id, a.id);

  // Same data again: nothing is scored (checkpoints) and nothing is added.
  auto second = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->series_scored, 0);
  EXPECT_EQ(second->series_unchanged, 2);
  EXPECT_EQ(second->anomalies_new, 0);
  // Even scoring everything again finds the same anomaly and adds nothing.
  auto full = RunDetection(*this->store_, this->clock_, [] {
    DetectionOptions o;
    o.full = true;
    return o;
  }());
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->anomalies_found, 1);
  EXPECT_EQ(full->anomalies_new, 0);
  EXPECT_EQ(this->store_->Counts()->anomalies, 1);
}

TYPED_TEST(DetectionTest, ARequestedStopEndsTheRunBeforeTheNextChunk) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  AppendLoads(batch, "orders", 59, 3);
  batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(59), 120});
  this->Write(batch);

  std::stop_source stop;
  stop.request_stop();
  DetectionOptions options;
  options.stop = stop.get_token();
  auto stopped = RunDetection(*this->store_, this->clock_, options);
  ASSERT_FALSE(stopped.ok());
  EXPECT_TRUE(stopped.status().IsUnavailable()) << stopped.status().ToString();
  EXPECT_EQ(stopped.status().message(), "detection stopped after 0 of 1 assets");
  EXPECT_EQ(this->store_->Counts()->anomalies, 0);

  // The next run does the work.
  auto next = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->anomalies_new, 1);
}

TYPED_TEST(DetectionTest, NamedAssetsAreScoredAloneAndUnknownOrRemovedOnesSkipped) {
  // What the scheduler does after an ingest: a run over the assets the ingest wrote.
  catalog::WriteBatch batch;
  for (const char* name : {"orders", "calm", "retired"}) batch.PutAsset(Table(name));
  AppendLoads(batch, "orders", 59, 5);
  batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(59), 120});
  AppendLoads(batch, "calm", 59, 6);
  batch.AppendMetricPoint({Key("calm"), "rows_affected", Day(59), 120});
  AppendLoads(batch, "retired", 59, 8);
  batch.AppendMetricPoint({Key("retired"), "rows_affected", Day(59), 120});
  batch.MarkRemoved(Key("retired"));
  this->Write(batch);

  DetectionOptions options;
  options.assets = {Key("orders"), Key("never_ingested"), Key("retired")};
  auto run = RunDetection(*this->store_, this->clock_, options);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->assets, 1) << run->ToJson();
  ASSERT_EQ(run->anomalies_new, 1) << run->ToJson();
  EXPECT_EQ(run->new_anomalies[0].asset, Key("orders"));
  // "calm" waits for a run that names it, or for the periodic run over every asset.
  auto everything = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(everything.ok()) << everything.status().ToString();
  EXPECT_EQ(everything->assets, 2);
  ASSERT_EQ(everything->anomalies_new, 1) << everything->ToJson();
  EXPECT_EQ(everything->new_anomalies[0].asset, Key("calm"));
}

TEST(AssetsToScoreTest, NamesTheAssetsWhosePointsSnapshotsOrResultsABatchAdds) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("only_described"));  // no detection input: not named
  batch.AppendMetricPoint({Key("orders"), "row_count", Day(1), 10});
  batch.AppendMetricPoint({Key("orders"), "bytes", Day(1), 10});
  batch.AppendMetricPoint({Key("customers"), "row_count", Day(1), 10});
  model::SchemaSnapshot snapshot;
  snapshot.asset = Key("payments");
  snapshot.observed_at = Day(1);
  batch.PutSchemaSnapshot(snapshot);
  batch.PutNodeResult(TestResult("run-1", "test.shop.not_null", "customers", "fail", Day(1)));
  model::NodeResult unattached = TestResult("run-1", "test.shop.custom", "x", "pass", Day(1));
  unattached.asset = {};
  batch.PutNodeResult(unattached);
  batch.PutAnomaly(DropAnomaly("refunds", Day(1), "drop-1"));  // detection's own output

  EXPECT_EQ(AssetsToScore(batch),
            (std::vector<model::AssetKey>{Key("customers"), Key("orders"), Key("payments")}));
  EXPECT_TRUE(AssetsToScore(catalog::WriteBatch{}).empty());
}

TYPED_TEST(DetectionTest, FailedTestsAndBuildsBecomeTriggers) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  batch.PutRun(DbtRun("run-1", Day(10)));
  batch.PutNodeResult(TestResult("run-1", "test.shop.not_null_orders_id", "orders", "fail", Day(10)));
  batch.PutNodeResult(TestResult("run-1", "test.shop.unique_orders_id", "orders", "pass", Day(10)));
  model::NodeResult build = TestResult("run-1", "model.shop.orders", "orders", "error", Day(10));
  build.node_kind = "model";
  build.message = "relation does not exist";
  batch.PutNodeResult(build);
  this->Write(batch);

  auto summary = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->triggers_new, 2) << summary->ToJson();
  std::map<std::string, model::Anomaly> by_detector;
  for (const auto& a : summary->new_anomalies) by_detector[a.detector] = a;
  ASSERT_TRUE(by_detector.count("dbt_test"));
  ASSERT_TRUE(by_detector.count("run"));
  EXPECT_EQ(by_detector["dbt_test"].metric, "test.shop.not_null_orders_id");
  EXPECT_EQ(by_detector["dbt_test"].value, 3);
  EXPECT_EQ(by_detector["dbt_test"].severity, model::Severity::kError);
  EXPECT_NE(by_detector["run"].explanation.find("relation does not exist"), std::string::npos);

  auto again = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->anomalies_new, 0);
}

TYPED_TEST(DetectionTest, LateTableIsFlaggedBySla) {
  catalog::WriteBatch batch;
  model::Asset src = Table("raw_orders", model::AssetKind::kSource);
  src.properties = R"({"freshness":{"warn_after":{"count":12,"period":"hour"},)"
                   R"("error_after":{"count":24,"period":"hour"}}})";
  batch.PutAsset(src);
  for (int d = 0; d < 30; ++d) batch.AppendMetricPoint({Key("raw_orders"), "update", Day(d), 1});
  this->Write(batch);
  this->clock_.Set(Day(29) + 30h);  // 30 h after the last update: past error_after
  // The live check only: a backfill would also report every earlier day (daily updates are
  // late by a 12-hour SLA), which BackfillReplaysFreshnessOverTheWindow covers.
  DetectionOptions live;
  live.backfill = std::chrono::seconds(0);
  auto summary = RunDetection(*this->store_, this->clock_, live);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(summary->anomalies_new, 1) << summary->ToJson();
  EXPECT_EQ(summary->new_anomalies[0].detector, "freshness");
  EXPECT_EQ(summary->new_anomalies[0].severity, model::Severity::kError);
}

// dbt meta.tidemark per asset: a disabled detector stays quiet, and a bad setting is a warning naming its JSON path while the defaults still detect.
TYPED_TEST(DetectionTest, MetaTidemarkSettingsApplyPerAsset) {
  const unsigned seed = 11;
  SCOPED_TRACE("seed " + std::to_string(seed));
  catalog::WriteBatch batch;
  model::Asset quiet = Table("quiet");
  quiet.properties = R"({"meta":{"tidemark":{"disabled":["volume"]}}})";
  model::Asset bad = Table("bad");
  bad.properties = R"({"meta":{"tidemark":{"sensitivity":"high"}}})";
  for (const model::Asset& a : {quiet, bad}) {
    batch.PutAsset(a);
    AppendLoads(batch, a.key.name.substr(a.key.name.rfind('.') + 1), 59, seed);
    batch.AppendMetricPoint({a.key, "rows_affected", Day(59), 120});  // the drop
  }
  this->Write(batch);
  auto summary = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  std::map<std::string, std::vector<std::string>> found;  // asset -> detectors
  for (const model::Anomaly& a : summary->new_anomalies) {
    found[a.asset.name].push_back(a.detector);
  }
  EXPECT_EQ(found.count(Key("quiet").name), 0u) << summary->ToJson();
  EXPECT_EQ(found[Key("bad").name], std::vector<std::string>{"volume"}) << summary->ToJson();
  EXPECT_GE(summary->warnings, 1);
  ASSERT_FALSE(summary->warning_samples.empty());
  EXPECT_NE(summary->warning_samples[0].find("meta.tidemark.sensitivity"), std::string::npos)
      << summary->warning_samples[0];
}

TYPED_TEST(DetectionTest, MetaTidemarkFreshnessReplacesDbtSla) {
  catalog::WriteBatch batch;
  model::Asset src = Table("raw_orders", model::AssetKind::kSource);
  src.properties = R"({"freshness":{"error_after":{"count":24,"period":"hour"}},)"
                   R"("meta":{"tidemark":{"freshness":{"error_after":{"count":3,"period":"day"}}}}})";
  batch.PutAsset(src);
  for (int d = 0; d < 30; ++d) batch.AppendMetricPoint({Key("raw_orders"), "update", Day(d), 1});
  this->Write(batch);
  this->clock_.Set(Day(29) + 30h);  // late by dbt's 24 h, on time by meta's 3 days
  auto on_time = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(on_time.ok()) << on_time.status().ToString();
  EXPECT_EQ(on_time->anomalies_new, 0) << on_time->ToJson();
  this->clock_.Set(Day(29) + 80h);  // past 3 days
  auto late = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  ASSERT_EQ(late->anomalies_new, 1) << late->ToJson();
  EXPECT_EQ(late->new_anomalies[0].detector, "freshness");
  EXPECT_EQ(late->new_anomalies[0].severity, model::Severity::kError);
}

TYPED_TEST(DetectionTest, SchemaChangeIsFlagged) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  model::SchemaSnapshot s1{Key("orders"), Day(50), "test", {}};
  s1.columns = {{"id", 1, "integer", "", false, {}, ""}, {"email", 2, "varchar", "", true, {}, ""}};
  model::SchemaSnapshot s2 = s1;
  s2.observed_at = Day(55);
  s2.columns.pop_back();
  batch.PutSchemaSnapshot(s1);
  this->Write(batch);
  catalog::WriteBatch later;
  later.PutSchemaSnapshot(s2);
  this->Write(later);
  auto summary = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(summary->anomalies_new, 1) << summary->ToJson();
  EXPECT_EQ(summary->new_anomalies[0].detector, "schema");
  EXPECT_EQ(summary->new_anomalies[0].severity, model::Severity::kError);
}

std::set<model::Timestamp> Times(const std::vector<model::Anomaly>& anomalies) {
  std::set<model::Timestamp> out;
  for (const model::Anomaly& a : anomalies) out.insert(a.ts);
  return out;
}

TYPED_TEST(DetectionTest, BackfillRecordsPastAnomaliesAtTheirTimeOnceAndOnlyOnce) {
  const unsigned seed = 11;
  SCOPED_TRACE("seed " + std::to_string(seed));
  this->WriteLoadsWithDrops({52}, seed);  // eight days before now, inside the default 14

  auto first = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->series_backfilled, 1);
  ASSERT_EQ(first->anomalies_new, 1) << first->ToJson();
  EXPECT_EQ(first->new_anomalies[0].ts, Day(52));
  EXPECT_EQ(first->new_anomalies[0].direction, "drop");

  // The checkpoint is the last point scored: the next run is incremental.
  auto checkpoints = this->store_->ListCheckpoints("detect:series");
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_EQ(checkpoints->size(), 1u);
  EXPECT_EQ((*checkpoints)[0].value, model::FormatTimestamp(Day(59)));
  auto again = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->series_backfilled, 0);
  EXPECT_EQ(again->series_unchanged, 1);
  EXPECT_EQ(again->anomalies_new, 0);

  // A new point is scored alone, with the stored drop kept out of its baseline.
  catalog::WriteBatch next;
  next.AppendMetricPoint({Key("orders"), "rows_affected", Day(60), 1003});
  this->Write(next);
  this->clock_.Set(Day(60) + 1h);
  auto later = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->series_scored, 1);
  EXPECT_EQ(later->series_backfilled, 0);
  EXPECT_EQ(later->anomalies_new, 0) << later->ToJson();
  EXPECT_EQ(this->store_->Counts()->anomalies, 1);
}

TYPED_TEST(DetectionTest, BackfillIsBoundedByItsWindow) {
  const unsigned seed = 12;
  SCOPED_TRACE("seed " + std::to_string(seed));
  this->WriteLoadsWithDrops({35, 52}, seed);  // 25 and 8 days before now

  DetectionOptions week;
  week.backfill = std::chrono::days(7);
  auto none = RunDetection(*this->store_, this->clock_, week);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->anomalies_new, 0) << "both drops lie outside a 7-day backfill";

  // The checkpoint now exists: a wider window later does not backfill again.
  DetectionOptions month;
  month.backfill = std::chrono::days(30);
  auto still_none = RunDetection(*this->store_, this->clock_, month);
  ASSERT_TRUE(still_none.ok());
  EXPECT_EQ(still_none->series_backfilled, 0);
  EXPECT_EQ(still_none->anomalies_new, 0);
}

TYPED_TEST(DetectionTest, WiderBackfillOnANewStoreFindsOlderDrops) {
  const unsigned seed = 12;
  SCOPED_TRACE("seed " + std::to_string(seed));
  this->WriteLoadsWithDrops({35, 52}, seed);
  DetectionOptions month;
  month.backfill = std::chrono::days(30);
  auto found = RunDetection(*this->store_, this->clock_, month);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(Times(found->new_anomalies), (std::set<model::Timestamp>{Day(35), Day(52)}))
      << found->ToJson();

  DetectionOptions off;
  off.backfill = std::chrono::seconds(0);
  catalog::WriteBatch other;
  other.PutAsset(Table("payments"));
  AppendLoads(other, "payments", 60, seed + 1);
  other.AppendMetricPoint({Key("payments"), "rows_affected", Day(50), 5});  // before the last
  this->Write(other);
  auto latest_only = RunDetection(*this->store_, this->clock_, off);
  ASSERT_TRUE(latest_only.ok());
  EXPECT_EQ(latest_only->series_backfilled, 0);
  EXPECT_EQ(latest_only->anomalies_new, 0) << "without a backfill only the latest point counts";
}

TYPED_TEST(DetectionTest, BackfillReplaysFreshnessOverTheWindow) {
  catalog::WriteBatch batch;
  model::Asset src = Table("raw_orders", model::AssetKind::kSource);
  src.properties = R"({"freshness":{"warn_after":{"count":36,"period":"hour"},)"
                   R"("error_after":{"count":72,"period":"hour"}}})";
  batch.PutAsset(src);
  for (int d = 0; d < 60; ++d) {
    if (d >= 50 && d <= 52) continue;  // the loader stalled for three days
    batch.AppendMetricPoint({Key("raw_orders"), "update", Day(d), 1});
  }
  this->Write(batch);
  this->clock_.Set(Day(59) + 2h);

  auto first = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->series_backfilled, 1);
  // Late at Day(49) + 36 h (warn), then an error at Day(49) + 72 h; fresh again since.
  EXPECT_EQ(Times(first->new_anomalies), (std::set<model::Timestamp>{Day(49) + 36h, Day(49) + 72h}))
      << first->ToJson();
  auto again = RunDetection(*this->store_, this->clock_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->series_backfilled, 0);
  EXPECT_EQ(again->anomalies_new, 0);
}

}  // namespace
}  // namespace tidemark::pipeline
