// The freshness detector on constructed update histories: daily, hourly, weekday-only and
// batch jobs, irregular streams, SLAs, cold start and replay.

#include "tidemark/detectors/freshness.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "series_util.h"
#include "tidemark/detectors/settings.h"

namespace tidemark::detectors {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::At;
using testing::DayOfWeek;
using testing::kDayS;
using testing::kHourS;
using testing::Parse;
using testing::Seconds;
using testing::SeriesMaker;

const model::Timestamp kMonday = Parse("2026-01-05");

std::vector<model::Anomaly> Check(const model::Series& s, model::Timestamp now,
                                  const FreshnessSettings& settings = {}) {
  auto r = CheckFreshness(s, now, settings);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<model::Anomaly>{};
}

std::vector<model::Anomaly> Replay(const model::Series& s, model::Timestamp until,
                                   const FreshnessSettings& settings = {}) {
  auto r = ReplayFreshness(s, until, settings);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<model::Anomaly>{};
}

// Daily at midnight, landing 10 to 40 minutes later, for four weeks.
model::Series DailyJob(SeriesMaker& maker) {
  return maker.Updates(kMonday, kMonday + hours(24 * 28), kDayS, 10 * 60, 30 * 60);
}

TEST(FreshnessTest, DailyJobIsLateOnlyWhenTheLoadIsMissing) {
  SeriesMaker maker(201);
  SCOPED_TRACE(maker.Trace());
  model::Series s = DailyJob(maker);
  const model::Timestamp last = s.ts.back();  // Sun 2026-02-01, 00:10 to 00:40
  EXPECT_TRUE(Check(s, last + hours(23)).empty());
  EXPECT_TRUE(Check(s, last + hours(26)).empty()) << "an ordinary slow night alerted";
  // The Monday load never came: late within the day, error once the next one is due too.
  std::vector<model::Anomaly> late = Check(s, last + hours(34));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].detector, "freshness");
  EXPECT_EQ(late[0].direction, "late");
  EXPECT_EQ(late[0].severity, model::Severity::kWarn);
  EXPECT_EQ(late[0].value, 34 * 3600);
  EXPECT_EQ(late[0].expected_low, 0);
  EXPECT_GT(late[0].expected_high, 24 * 3600);
  EXPECT_LT(late[0].expected_high, 34 * 3600);
  EXPECT_GT(late[0].score, 1);
  // `ts` is when it became late, so checking the same episode again is the same anomaly.
  EXPECT_EQ(late[0].ts, last + std::chrono::seconds(static_cast<long>(late[0].expected_high)));
  std::vector<model::Anomaly> again = Check(s, last + hours(36));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, late[0].id);
  EXPECT_NE(late[0].explanation.find("no update for 1d 10h since Sun 2026-02-01 00:"),
            std::string::npos)
      << late[0].explanation;
  EXPECT_NE(late[0].explanation.find("expected within"), std::string::npos);
  std::vector<model::Anomaly> error = Check(s, last + hours(60));
  ASSERT_EQ(error.size(), 1u);
  EXPECT_EQ(error[0].severity, model::Severity::kError);
  EXPECT_NE(error[0].id, late[0].id);
}

TEST(FreshnessTest, HourlyJobIsLateWithinTheHour) {
  SeriesMaker maker(202);
  SCOPED_TRACE(maker.Trace());
  model::Series s = maker.Updates(kMonday, kMonday + hours(24 * 10), kHourS, 5 * 60, 4 * 60);
  const model::Timestamp last = s.ts.back();
  EXPECT_TRUE(Check(s, last + minutes(65)).empty());
  std::vector<model::Anomaly> late = Check(s, last + minutes(100));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_LT(late[0].expected_high, 100 * 60);
}

TEST(FreshnessTest, WeekdayOnlyJobIsNotLateOnWeekends) {
  SeriesMaker maker(203);
  SCOPED_TRACE(maker.Trace());
  auto weekend = [](std::int64_t t) { return DayOfWeek(t) >= 5; };
  model::Series s =
      maker.Updates(kMonday, kMonday + hours(24 * 33), kDayS, 10 * 60, 30 * 60, weekend);
  const model::Timestamp friday = s.ts.back();  // Fri 2026-02-06
  ASSERT_EQ(DayOfWeek(Seconds(friday)), 4);
  EXPECT_TRUE(Check(s, friday + hours(36)).empty()) << "Saturday alerted";
  EXPECT_TRUE(Check(s, friday + hours(66)).empty()) << "Sunday alerted";
  EXPECT_TRUE(Check(s, friday + hours(72)).empty()) << "Monday's load on time alerted";
  // Monday's load is missing: late within the day.
  std::vector<model::Anomaly> late = Check(s, friday + hours(86));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].seasonality, "day_of_week");
  EXPECT_NE(late[0].explanation.find("after a Friday update"), std::string::npos)
      << late[0].explanation;
  // And a missing Tuesday load is late within a day of its time, not after three.
  model::Series tuesday = s;
  tuesday.ts.push_back(friday + hours(72));  // Monday's load arrives
  tuesday.values.push_back(1);
  EXPECT_EQ(Check(tuesday, friday + hours(72 + 36)).size(), 1u);
}

// A weekday job at 02:00 whose Monday load once ran at 23:00 instead: that Friday gap of
// 93 hours and the Monday catch-up gap of 3 must not loosen the other days' rules (they once
// did: the outage inflated the tail all slots borrow, and a finer slotting that left the
// weekend without a rule scored as tighter). A later missing Wednesday load is late within
// a day of its time, and so is a missing Monday one.
TEST(FreshnessTest, WeekdayOnlyJobStaysTightAfterAnEarlierLateLoad) {
  SeriesMaker maker(207);
  SCOPED_TRACE(maker.Trace());
  auto weekend = [](std::int64_t t) { return DayOfWeek(t) >= 5; };
  // Mon 2026-01-05 to Tue 2026-02-03, landing 02:10 to 02:40.
  model::Series s = maker.Updates(kMonday, kMonday + hours(24 * 30), kDayS, 2 * kHourS + 600,
                                  30 * 60, weekend);
  const model::Timestamp late_monday = Parse("2026-01-26");
  for (model::Timestamp& t : s.ts) {
    if (t >= late_monday && t < late_monday + hours(24)) t = late_monday + hours(23);
  }
  const model::Timestamp tuesday = s.ts.back();
  ASSERT_EQ(DayOfWeek(Seconds(tuesday)), 1);
  EXPECT_TRUE(Check(s, tuesday + hours(26)).empty()) << "Wednesday's load on time alerted";
  std::vector<model::Anomaly> late = Check(s, tuesday + hours(34));
  ASSERT_EQ(late.size(), 1u) << "a missing Wednesday load went unseen";
  EXPECT_LT(late[0].expected_high, 32 * 3600) << late[0].explanation;

  // The same history up to Friday 2026-01-30, then no Monday load.
  model::Series to_friday = s;
  while (DayOfWeek(Seconds(to_friday.ts.back())) != 4 ||
         to_friday.ts.back() > Parse("2026-01-31")) {
    to_friday.ts.pop_back();
    to_friday.values.pop_back();
  }
  const model::Timestamp friday = to_friday.ts.back();
  EXPECT_TRUE(Check(to_friday, friday + hours(73)).empty()) << "Monday's load on time alerted";
  std::vector<model::Anomaly> monday = Check(to_friday, friday + hours(72 + 22));
  ASSERT_EQ(monday.size(), 1u) << "a missing Monday load went unseen within its day";
  EXPECT_NE(monday[0].explanation.find("after a Friday"), std::string::npos)
      << monday[0].explanation;
}

TEST(FreshnessTest, BatchLoadsCommittingInStepsCountAsOneUpdate) {
  SeriesMaker maker(204);
  SCOPED_TRACE(maker.Trace());
  model::Series s = DailyJob(maker);
  model::Series bursty;
  bursty.asset = s.asset;
  bursty.metric = s.metric;
  for (model::Timestamp t : s.ts) {
    for (int step = 0; step < 4; ++step) {
      bursty.ts.push_back(t + std::chrono::seconds(20 * step));
      bursty.values.push_back(1);
    }
  }
  const model::Timestamp last = bursty.ts.back();
  EXPECT_TRUE(Replay(bursty, last).empty());
  EXPECT_TRUE(Check(bursty, last + hours(26)).empty());
  EXPECT_EQ(Check(bursty, last + hours(34)).size(), 1u);
}

TEST(FreshnessTest, IrregularStreamIsLateAfterAnUnusualSilence) {
  SeriesMaker maker(205);
  SCOPED_TRACE(maker.Trace());
  // Poisson, 20 updates an hour, for two weeks.
  model::Series s;
  s.asset = {"kafka://cluster", "events.clicks"};
  s.metric = "update";
  std::exponential_distribution<double> gap(20.0 / kHourS);
  for (double t = static_cast<double>(Seconds(kMonday)); t < Seconds(kMonday) + 14.0 * kDayS;) {
    t += gap(maker.rng());
    s.ts.push_back(At(static_cast<std::int64_t>(t)));
    s.values.push_back(1);
  }
  EXPECT_LE(Replay(s, s.ts.back()).size(), 1u) << "a healthy stream raised alarms";
  const model::Timestamp last = s.ts.back();
  EXPECT_TRUE(Check(s, last + minutes(10)).empty());
  std::vector<model::Anomaly> late = Check(s, last + hours(2));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_LT(late[0].expected_high, 2 * 3600);
}

TEST(FreshnessTest, SlaOverridesTheLearnedRule) {
  SeriesMaker maker(206);
  SCOPED_TRACE(maker.Trace());
  model::Series s = DailyJob(maker);
  const model::Timestamp last = s.ts.back();
  FreshnessSettings sla;
  sla.warn_after = hours(2);
  sla.error_after = hours(6);
  EXPECT_TRUE(Check(s, last + hours(1), sla).empty());
  std::vector<model::Anomaly> warn = Check(s, last + hours(3), sla);
  ASSERT_EQ(warn.size(), 1u);
  EXPECT_EQ(warn[0].severity, model::Severity::kWarn);
  EXPECT_EQ(warn[0].expected_high, 2 * 3600);
  EXPECT_EQ(warn[0].seasonality, "none");
  EXPECT_NE(warn[0].explanation.find("the freshness SLA warns after 2h and errors after 6h"),
            std::string::npos)
      << warn[0].explanation;
  std::vector<model::Anomaly> error = Check(s, last + hours(7), sla);
  ASSERT_EQ(error.size(), 1u);
  EXPECT_EQ(error[0].severity, model::Severity::kError);
  // dbt's error_after alone: one level, an error.
  FreshnessSettings only_error;
  only_error.error_after = hours(12);
  EXPECT_TRUE(Check(s, last + hours(11), only_error).empty());
  std::vector<model::Anomaly> e = Check(s, last + hours(13), only_error);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].severity, model::Severity::kError);
  // An SLA needs no history.
  model::Series two = testing::Prefix(s, 2);
  EXPECT_EQ(Check(two, two.ts.back() + hours(3), sla).size(), 1u);
}

TEST(FreshnessTest, ColdStartGivesNoLearnedVerdict) {
  SeriesMaker maker(207);
  SCOPED_TRACE(maker.Trace());
  model::Series s = testing::Prefix(DailyJob(maker), 5);
  EXPECT_TRUE(Check(s, s.ts.back() + hours(24 * 10)).empty());
  model::Series none;
  EXPECT_TRUE(Check(none, kMonday).empty());
}

TEST(FreshnessTest, ReplayChecksEveryTickWithTheUpdatesSeenSoFar) {
  SeriesMaker maker(208);
  SCOPED_TRACE(maker.Trace());
  model::Series s = DailyJob(maker);
  // Remove the load of day 22 (it never came); the next one arrives as usual.
  const model::Timestamp missing = s.ts[22];
  s.ts.erase(s.ts.begin() + 22);
  s.values.erase(s.values.begin() + 22);
  std::vector<model::Anomaly> found = Replay(s, s.ts.back());
  ASSERT_EQ(found.size(), 1u) << "the gap is shorter than the error threshold";
  const model::Anomaly& a = found[0];
  EXPECT_GT(a.detected_at, missing);
  EXPECT_LT(a.detected_at, missing + hours(24)) << "not flagged within one interval";
  // Checks happen on the 5-minute grid, and say what a live check then would have said.
  EXPECT_EQ(Seconds(a.detected_at) % 300, 0);
  std::vector<model::Anomaly> live = Check(s, a.detected_at);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0], a);
  EXPECT_TRUE(Check(s, a.detected_at - minutes(5)).empty());
}

TEST(FreshnessTest, UnsortedUpdatesAreInvalidArgument) {
  model::Series s;
  s.ts = {Parse("2026-01-02"), Parse("2026-01-01")};
  s.values = {1, 1};
  auto r = CheckFreshness(s, Parse("2026-01-03"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().where(), "point 1");
  EXPECT_FALSE(ReplayFreshness(s, Parse("2026-01-03"), {}).ok());
}

}  // namespace
}  // namespace tidemark::detectors
