// The volume detector on constructed series: seasonality, drops and spikes, past incidents,
// level shifts, minimum changes, zeros, frozen counts, cold start, replay, irregular time.

#include "tidemark/detectors/volume.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "series_util.h"
#include "tidemark/detectors/settings.h"

namespace tidemark::detectors {
namespace {

using testing::At;
using testing::kDayS;
using testing::kHourS;
using testing::Parse;
using testing::Prefix;
using testing::Seconds;
using testing::SeriesMaker;

const model::Timestamp kMonday = Parse("2026-01-05");  // a Monday

std::vector<model::Anomaly> Latest(const model::Series& s, const VolumeSettings& settings = {},
                                   std::span<const model::Timestamp> flagged = {}) {
  auto r = DetectVolume(s, settings, flagged);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<model::Anomaly>{};
}

std::vector<model::Anomaly> Replay(const model::Series& s, const VolumeSettings& settings = {}) {
  auto r = ReplayVolume(s, settings);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<model::Anomaly>{};
}

TEST(VolumeTest, WeekendDipsOfASeasonalTableAreNotAlerted) {
  SeriesMaker maker(101);
  SCOPED_TRACE(maker.Trace());
  // Weekends load 35% of a weekday, with 4% noise: a plain z-score would flag every Saturday.
  model::Series s = maker.Daily(kMonday, 70, 10000, 0.35, 0.04);
  EXPECT_TRUE(Replay(s).empty());
}

TEST(VolumeTest, RealDropIsFoundAndExplained) {
  SeriesMaker maker(102);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 58, 10000, 0.35, 0.04);
  // Day 58 is a Wednesday (2026-03-04); it loads 45% of a normal Wednesday.
  s.ts.push_back(At(Seconds(kMonday) + 58 * kDayS + 2 * kHourS));
  s.values.push_back(4500);
  std::vector<model::Anomaly> found = Latest(s);
  ASSERT_EQ(found.size(), 1u);
  const model::Anomaly& a = found[0];
  EXPECT_EQ(a.direction, "drop");
  EXPECT_EQ(a.detector, "volume");
  EXPECT_EQ(a.seasonality, "day_of_week");
  EXPECT_EQ(a.value, 4500);
  EXPECT_LT(a.expected_high, 13000);
  EXPECT_GT(a.expected_low, 6000);
  EXPECT_LT(a.score, -5);
  EXPECT_EQ(a.severity, model::Severity::kError);
  EXPECT_EQ(a.train_size, 56);
  ASSERT_TRUE(a.train_start && a.train_end);
  EXPECT_LT(*a.train_start, *a.train_end);
  EXPECT_LT(*a.train_end, a.ts);
  EXPECT_NE(a.explanation.find("rows_affected 4,500 on Wed 2026-03-04 is"), std::string::npos)
      << a.explanation;
  EXPECT_NE(a.explanation.find("below the expected"), std::string::npos) << a.explanation;
  EXPECT_NE(a.explanation.find("for a Wednesday (56 days of history, weekly seasonality"),
            std::string::npos)
      << a.explanation;
}

TEST(VolumeTest, SpikeOnAWeekendIsFoundAgainstTheWeekendLevel) {
  SeriesMaker maker(103);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 68, 10000, 0.3, 0.04);
  // Day 69 is a Sunday: a weekday-sized load on a Sunday is a spike for a Sunday.
  s.ts.push_back(At(Seconds(kMonday) + 69 * kDayS + 2 * kHourS));
  s.values.push_back(9000);
  std::vector<model::Anomaly> found = Latest(s);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "spike");
  EXPECT_NE(found[0].explanation.find("for a Sunday"), std::string::npos) << found[0].explanation;
}

TEST(VolumeTest, PastIncidentsStayOutOfTheBaseline) {
  SeriesMaker maker(104);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 10000, 1.0, 0.03);
  // Six past incidents at 4x, already flagged; then a 2.5x day.
  std::vector<model::Timestamp> flagged;
  for (int d : {20, 27, 31, 38, 42, 45}) {
    s.values[d] *= 4;
    flagged.push_back(s.ts[d]);
  }
  s.ts.push_back(At(Seconds(kMonday) + 50 * kDayS + 2 * kHourS));
  s.values.push_back(25000);
  std::vector<model::Anomaly> found = Latest(s, {}, flagged);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "spike");
  EXPECT_LT(found[0].expected_high, 13000) << "the incidents widened the band";
  EXPECT_EQ(found[0].train_size, 50 - 6);
}

TEST(VolumeTest, LevelShiftIsRebaselinedAfterItPersists) {
  SeriesMaker maker(105);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 90, 10000, 1.0, 0.03);
  for (size_t d = 50; d < s.values.size(); ++d) s.values[d] *= 2;  // a new source doubles loads
  std::vector<model::Anomaly> found = Replay(s);
  ASSERT_FALSE(found.empty());
  VolumeSettings defaults;
  EXPECT_LE(found.size(), static_cast<size_t>(defaults.level_shift_points));
  for (const model::Anomaly& a : found) {
    EXPECT_GE(a.ts, s.ts[50]);
    EXPECT_LE(a.ts, s.ts[50 + defaults.level_shift_points]);
    EXPECT_EQ(a.direction, "spike");
  }
  // Later points are judged against the new level: a drop back to the old level for a day
  // once the new level is well established is news again.
  model::Series later = Prefix(s, 89);
  later.ts.push_back(s.ts[89]);
  later.values.push_back(s.values[89] / 2.2);
  std::vector<model::Timestamp> flagged;
  for (const model::Anomaly& a : found) flagged.push_back(a.ts);
  EXPECT_EQ(Latest(later, {}, flagged).size(), 1u);
}

TEST(VolumeTest, ShortIncidentThatEndsDoesNotAlertOnRecovery) {
  SeriesMaker maker(106);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 70, 10000, 1.0, 0.03);
  for (int d = 40; d < 45; ++d) s.values[d] /= 3;  // five slow days, then back to normal
  std::vector<model::Anomaly> found = Replay(s);
  for (const model::Anomaly& a : found) {
    EXPECT_LT(a.ts, s.ts[45]) << "recovery alerted: " << a.explanation;
  }
}

TEST(VolumeTest, TinyChangesAreNotAlerted) {
  model::Series s;
  s.asset = {"test://db", "dim.countries"};
  s.metric = "row_count";
  for (int d = 0; d < 40; ++d) {
    s.ts.push_back(At(Seconds(kMonday) + d * kDayS));
    s.values.push_back(30);
  }
  VolumeSettings plain;  // as a plain count, not a running total
  s.ts.push_back(At(Seconds(kMonday) + 40 * kDayS));
  s.values.push_back(29);
  EXPECT_TRUE(Latest(s, plain).empty()) << "30 -> 29 alerted";
  s.values.back() = 10;
  EXPECT_EQ(Latest(s, plain).size(), 1u) << "30 -> 10 not alerted";
}

TEST(VolumeTest, MinimumChangesAreRespected) {
  SeriesMaker maker(107);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 1000, 1.0, 0.005);  // a very calm table
  s.ts.push_back(At(Seconds(kMonday) + 50 * kDayS + 2 * kHourS));
  s.values.push_back(1120);  // 12% up: far out for a 0.5% noise, below a 20% minimum
  EXPECT_EQ(Latest(s).size(), 1u);
  VolumeSettings settings;
  settings.min_rel_change = 0.2;
  EXPECT_TRUE(Latest(s, settings).empty());
  settings.min_rel_change = 0;
  settings.min_abs_change = 500;
  EXPECT_TRUE(Latest(s, settings).empty());
  // The expected range shows the gate: values inside it are never flagged.
  settings = {};
  std::vector<model::Anomaly> found = Latest(s, settings);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_LE(found[0].expected_high, 1000 * 1.10);
  EXPECT_GE(found[0].expected_high, 1000 * 1.05);
}

TEST(VolumeTest, ZeroRowsAreFlagged) {
  SeriesMaker maker(108);
  SCOPED_TRACE(maker.Trace());
  // Noisy enough that a zero is not far out in robust deviations on the log scale alone.
  model::Series s = maker.Daily(kMonday, 50, 5000, 1.0, 0.4);
  s.ts.push_back(At(Seconds(kMonday) + 50 * kDayS + 2 * kHourS));
  s.values.push_back(0);
  std::vector<model::Anomaly> found = Latest(s);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "drop");
  EXPECT_EQ(found[0].severity, model::Severity::kError);
  EXPECT_NE(found[0].explanation.find("is 0 on"), std::string::npos) << found[0].explanation;
}

TEST(VolumeTest, ZerosThatAreTheTablesHabitAreNot) {
  SeriesMaker maker(109);
  SCOPED_TRACE(maker.Trace());
  // No loads on weekends: every Saturday and Sunday is 0.
  model::Series s = maker.Daily(kMonday, 70, 5000, 0.0, 0.05);
  EXPECT_TRUE(Replay(s).empty());
}

TEST(VolumeTest, FrozenCountIsFlagged) {
  SeriesMaker maker(110);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 5000, 1.0, 0.05);
  // The collector got stuck: the same value three buckets running.
  for (int d = 47; d < 50; ++d) s.values[d] = s.values[46];
  std::vector<model::Anomaly> found = Latest(s);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "change");
  EXPECT_NE(found[0].explanation.find("has stayed at"), std::string::npos) << found[0].explanation;
}

TEST(VolumeTest, ColdStartGivesNoVerdict) {
  SeriesMaker maker(111);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 10, 5000, 1.0, 0.05);
  s.ts.push_back(At(Seconds(kMonday) + 10 * kDayS));
  s.values.push_back(500000);
  EXPECT_TRUE(Latest(s).empty());
  VolumeSettings eager;
  eager.min_history = 7;
  eager.seasonality = Seasonality::kNone;
  EXPECT_EQ(Latest(s, eager).size(), 1u);
}

TEST(VolumeTest, ReplayUsesOnlyEarlierData) {
  SeriesMaker maker(112);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 80, 20000, 0.5, 0.05);
  for (int d : {30, 41, 55, 56, 57, 70}) s.values[d] *= 0.3;
  std::vector<model::Anomaly> replayed = Replay(s);
  ASSERT_FALSE(replayed.empty());
  // Point by point, replay says what the live service would have said with the anomalies it
  // had stored by then.
  std::vector<model::Timestamp> stored;
  size_t next = 0;
  for (size_t p = 0; p < s.ts.size(); ++p) {
    std::vector<model::Anomaly> live = Latest(Prefix(s, p + 1), {}, stored);
    const bool replay_flagged = next < replayed.size() && replayed[next].ts == s.ts[p];
    ASSERT_EQ(live.size(), replay_flagged ? 1u : 0u) << "point " << p;
    if (replay_flagged) {
      EXPECT_EQ(live[0], replayed[next]);
      stored.push_back(s.ts[p]);
      ++next;
    }
  }
  // And the future does not leak: changing the last ten points changes nothing before them.
  model::Series changed = s;
  for (size_t p = 70; p < changed.values.size(); ++p) changed.values[p] *= 5;
  std::vector<model::Anomaly> again = Replay(changed);
  auto before = [&](const std::vector<model::Anomaly>& v) {
    std::vector<model::Anomaly> out;
    for (const model::Anomaly& a : v) {
      if (a.ts < s.ts[70]) out.push_back(a);
    }
    return out;
  };
  EXPECT_EQ(before(again), before(replayed));
}

TEST(VolumeTest, IrregularTimesAndMissingBucketsAreBucketedByCadence) {
  SeriesMaker maker(113);
  SCOPED_TRACE(maker.Trace());
  // Loads land anywhere between 00:30 and 05:30, some days are missing, and one day was
  // measured twice (the later measurement stands).
  model::Series s = maker.Daily(kMonday, 70, 8000, 0.6, 0.04, 5 * kHourS);
  for (int d : {65, 50, 33, 12}) {
    s.ts.erase(s.ts.begin() + d);
    s.values.erase(s.values.begin() + d);
  }
  s.ts.insert(s.ts.begin() + 40, s.ts[40] - std::chrono::minutes(5));
  s.values.insert(s.values.begin() + 40, 1);
  for (const model::Anomaly& a : Replay(s)) {
    EXPECT_EQ(a.ts, s.ts[40]) << "false alarm: " << a.explanation;
  }
  s.ts.push_back(s.ts.back() + std::chrono::hours(24));
  s.values.push_back(s.values.back() / 5);
  EXPECT_EQ(Latest(s).size(), 1u);
}

TEST(VolumeTest, HourlySeriesLearnsItsDailyProfile) {
  SeriesMaker maker(114);
  SCOPED_TRACE(maker.Trace());
  // Night loads are a tenth of afternoon ones.
  model::Series s = maker.Hourly(kMonday, 21 * 24, 1000, 0.9, 0.05);
  EXPECT_TRUE(Replay(s).empty());
  // An afternoon-sized load at 03:00 is a spike for 03:00.
  s.ts.push_back(At(Seconds(kMonday) + 21 * kDayS + 3 * kHourS + 300));
  s.values.push_back(1500);
  std::vector<model::Anomaly> found = Latest(s);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "spike");
  EXPECT_TRUE(found[0].seasonality == "hour_of_day" || found[0].seasonality == "hour_of_week")
      << found[0].seasonality;
  EXPECT_NE(found[0].explanation.find("03:00"), std::string::npos) << found[0].explanation;
}

TEST(VolumeTest, DirectionLimitsWhatIsFlagged) {
  SeriesMaker maker(115);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 10000, 1.0, 0.03);
  s.ts.push_back(At(Seconds(kMonday) + 50 * kDayS));
  s.values.push_back(3000);
  VolumeSettings spikes;
  spikes.direction = Direction::kSpike;
  EXPECT_TRUE(Latest(s, spikes).empty());
  VolumeSettings drops;
  drops.direction = Direction::kDrop;
  EXPECT_EQ(Latest(s, drops).size(), 1u);
}

TEST(VolumeTest, RowCountIsJudgedByWhatEachLoadAdds) {
  SeriesMaker maker(116);
  SCOPED_TRACE(maker.Trace());
  model::Series loads = maker.Daily(kMonday, 80, 20000, 0.5, 0.1);
  model::Series s = loads;
  s.metric = "row_count";
  double total = 5'000'000;
  for (size_t i = 0; i < s.values.size(); ++i) {
    total += loads.values[i];
    if (i == 60) total *= 0.4;  // truncated
    s.values[i] = total;
  }
  const VolumeSettings settings = DefaultVolumeSettings("row_count");
  ASSERT_TRUE(settings.cumulative);
  // A growing table is not drifting away from a trend line: only the truncation alerts, once.
  std::vector<model::Anomaly> found = Replay(s, settings);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].ts, s.ts[60]);
  EXPECT_EQ(found[0].direction, "drop");
  EXPECT_NE(found[0].explanation.find("row_count changed by -"), std::string::npos)
      << found[0].explanation;
  // A table that stops growing is flagged on its first still day.
  model::Series stuck = Prefix(s, 75);
  stuck.ts.push_back(s.ts[75]);
  stuck.values.push_back(stuck.values.back());
  std::vector<model::Timestamp> flagged = {found[0].ts};
  std::vector<model::Anomaly> still = Latest(stuck, settings, flagged);
  ASSERT_EQ(still.size(), 1u);
  EXPECT_NE(still[0].explanation.find("did not change"), std::string::npos) << still[0].explanation;
}

TEST(VolumeTest, AnomalyIdIsDeterministic) {
  SeriesMaker maker(117);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 10000, 1.0, 0.03);
  s.values.back() = 50;
  std::vector<model::Anomaly> a = Latest(s), b = Latest(s);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].id, b[0].id);
  EXPECT_EQ(a[0].id.size(), 16u);
  EXPECT_EQ(a[0].detected_at, a[0].ts);
  auto column = DetectVolume(s, {}, {}, "column_metric");
  ASSERT_TRUE(column.ok());
  ASSERT_EQ(column->size(), 1u);
  EXPECT_NE((*column)[0].id, a[0].id);
  EXPECT_EQ((*column)[0].detector, "column_metric");
}

TEST(VolumeTest, BadInputIsInvalidArgumentNamingThePoint) {
  model::Series s;
  s.metric = "rows_affected";
  s.ts = {Parse("2026-01-02"), Parse("2026-01-01")};
  s.values = {1, 2};
  auto r = DetectVolume(s, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().where(), "point 1");
  s.ts = {Parse("2026-01-01")};
  auto mismatch = ReplayVolume(s, {});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(mismatch.status().IsInvalidArgument());
  s.values = {NAN};
  EXPECT_FALSE(DetectVolume(s, {}).ok());
  model::Series empty;
  auto none = DetectVolume(empty, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(VolumeTest, NullRateUsesItsOwnScale) {
  SeriesMaker maker(118);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Daily(kMonday, 50, 1000, 1.0, 0.05);
  s.metric = "null_rate:email";
  for (double& v : s.values) v = 0.02 + v / 1e6;  // 2% nulls, give or take 0.005%
  const VolumeSettings settings = DefaultVolumeSettings(s.metric);
  EXPECT_EQ(settings.transform, Transform::kNone);
  s.values.back() = 0.025;  // half a point up: below the one-point minimum
  EXPECT_TRUE(Latest(s, settings).empty());
  s.values.back() = 0.12;
  std::vector<model::Anomaly> found = Latest(s, settings);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].direction, "spike");
}

}  // namespace
}  // namespace tidemark::detectors
