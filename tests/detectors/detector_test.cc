// The Detector seam: factories, batch runs across threads, anomaly ids, metric names,
// per-metric settings.

#include "tidemark/detectors/detector.h"

#include <gtest/gtest.h>

#include <set>

#include "series_util.h"
#include "tidemark/detectors/settings.h"

namespace tidemark::detectors {
namespace {

using std::chrono::hours;
using testing::Parse;
using testing::SeriesMaker;

const model::Timestamp kMonday = Parse("2026-01-05");

TEST(DetectorTest, FactoriesNameTheirDetectors) {
  EXPECT_EQ(NewVolumeDetector({})->Name(), "volume");
  EXPECT_EQ(NewColumnMetricDetector({})->Name(), "column_metric");
  EXPECT_EQ(NewFreshnessDetector({})->Name(), "freshness");
}

TEST(DetectorTest, LatestAndReplayStopAtTheGivenTime) {
  SeriesMaker maker(301);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 60, 10000, 1.0, 0.03);
  s.values[50] = 100;
  auto volume = NewVolumeDetector({});
  auto at50 = volume->Latest(s, s.ts[50], {});
  ASSERT_TRUE(at50.ok());
  ASSERT_EQ(at50->size(), 1u);
  EXPECT_EQ((*at50)[0].ts, s.ts[50]);
  auto before = volume->Replay(s, s.ts[49]);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto all = volume->Replay(s, s.ts.back());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST(DetectorTest, BackfillScoresOnlyTheWindowAsReplayWould) {
  SeriesMaker maker(303);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 60, 10000, 1.0, 0.03);
  s.values[30] = 100;
  s.values[50] = 100;
  auto volume = NewVolumeDetector({});
  auto replayed = volume->Replay(s, s.ts.back());
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->size(), 2u);
  auto backfilled = volume->Backfill(s, s.ts[40], s.ts.back(), {});
  ASSERT_TRUE(backfilled.ok());
  ASSERT_EQ(backfilled->size(), 1u) << "the drop before the window is not reported";
  EXPECT_EQ((*backfilled)[0].id, (*replayed)[1].id);
  EXPECT_EQ((*backfilled)[0].ts, s.ts[50]);
  // A stored anomaly inside the window stays out of later baselines, as in Latest.
  std::vector<model::Timestamp> flagged = {s.ts[50]};
  auto again = volume->Backfill(s, s.ts[40], s.ts.back(), flagged);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);
  // Nothing after `until` is scored.
  auto early = volume->Backfill(s, s.ts[40], s.ts[49], {});
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
}

TEST(DetectorTest, DetectAllKeepsJobOrderWhateverTheThreads) {
  SeriesMaker maker(302);
  SCOPED_TRACE(maker.Trace());
  std::vector<model::Series> series;
  for (int i = 0; i < 300; ++i) {
    series.push_back(maker.Daily(kMonday, 40, 1000 + i, 0.5, 0.05));
    series.back().asset.name = "t" + std::to_string(i);
    if (i % 7 == 0) series.back().values.back() *= 10;
  }
  // A daily job that stopped after 50 days; the volume series end before that.
  model::Series updates =
      maker.Updates(kMonday, kMonday + hours(24 * 50), testing::kDayS, 600, 600);
  auto volume = NewVolumeDetector({});
  auto freshness = NewFreshnessDetector({});
  std::vector<DetectJob> jobs;
  for (const model::Series& s : series) jobs.push_back({&s, volume.get()});
  jobs.push_back({&updates, freshness.get()});
  const model::Timestamp now = updates.ts.back() + hours(40);
  auto one = DetectAll(jobs, DetectMode::kLatest, now, 1);
  auto two = DetectAll(jobs, DetectMode::kLatest, now, 2);
  auto many = DetectAll(jobs, DetectMode::kReplay, now, 0);
  ASSERT_EQ(one.size(), jobs.size());
  ASSERT_EQ(two.size(), jobs.size());
  size_t flagged = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    ASSERT_TRUE(one[i].ok());
    ASSERT_TRUE(two[i].ok());
    EXPECT_EQ(*one[i], *two[i]) << "job " << i;
    flagged += one[i]->size();
  }
  EXPECT_GE(flagged, 40u);
  EXPECT_EQ(one.back()->size(), 1u) << "the freshness job";
  EXPECT_EQ(one.back()->front().detector, "freshness");
  ASSERT_EQ(many.size(), jobs.size());
}

TEST(DetectorTest, AnomalyIdIsStableAndDistinguishesItsInputs) {
  model::AssetKey asset{"postgres://db:5432", "shop.public.orders"};
  const model::Timestamp t = Parse("2026-03-03T02:00:00Z");
  const std::string id = AnomalyId(asset, "row_count", "volume", t);
  EXPECT_EQ(id, AnomalyId(asset, "row_count", "volume", t));
  EXPECT_EQ(id.size(), 16u);
  std::set<std::string> ids = {
      id,
      AnomalyId(asset, "row_count", "volume", t + std::chrono::microseconds(1)),
      AnomalyId(asset, "rows_affected", "volume", t),
      AnomalyId(asset, "row_count", "freshness", t),
      AnomalyId({"postgres://db:5432", "shop.public.order"}, "row_count", "volume", t),
      AnomalyId({"postgres://db:5432/shop", "public.orders"}, "row_count", "volume", t)};
  EXPECT_EQ(ids.size(), 6u);
}

TEST(DetectorTest, ColumnMetricsAreRecognisedAndGetTheirOwnScale) {
  EXPECT_TRUE(IsColumnMetric("null_rate:email"));
  EXPECT_TRUE(IsColumnMetric("distinct_count:customer_id"));
  EXPECT_TRUE(IsColumnMetric("mean:amount"));
  EXPECT_FALSE(IsColumnMetric("row_count"));
  EXPECT_FALSE(IsColumnMetric("null_rate:"));
  EXPECT_FALSE(IsColumnMetric("update"));
  VolumeSettings rate = DefaultVolumeSettings("null_rate:email");
  EXPECT_EQ(rate.transform, Transform::kNone);
  EXPECT_EQ(rate.min_abs_change, 0.01);
  EXPECT_FALSE(rate.flag_zero);
  EXPECT_EQ(rate.frozen_after, 0);
  VolumeSettings distinct = DefaultVolumeSettings("distinct_count:sku");
  EXPECT_EQ(distinct.transform, Transform::kAuto);
  EXPECT_EQ(distinct.frozen_after, 0);
  EXPECT_TRUE(DefaultVolumeSettings("row_count").cumulative);
  EXPECT_FALSE(DefaultVolumeSettings("rows_affected").cumulative);
}

TEST(DetectorTest, NamesRoundTrip) {
  for (Seasonality s : {Seasonality::kAuto, Seasonality::kNone, Seasonality::kDayOfWeek,
                        Seasonality::kHourOfDay, Seasonality::kHourOfWeek}) {
    EXPECT_EQ(ParseSeasonality(SeasonalityName(s)), s);
  }
  for (Direction d : {Direction::kBoth, Direction::kSpike, Direction::kDrop}) {
    EXPECT_EQ(ParseDirection(DirectionName(d)), d);
  }
  EXPECT_FALSE(ParseSeasonality("weekly"));
  EXPECT_FALSE(ParseDirection("up"));
}

}  // namespace
}  // namespace tidemark::detectors
