// Cron expressions in a time zone (the system's zoneinfo, as the service reads it), across
// daylight-saving changes, and the reports folder keeping the last N.

#include "tidemark/pipeline/report_schedule.h"

#include <gtest/gtest.h>

#include <fstream>

#include "catalog/test_stores.h"

namespace tidemark::pipeline {
namespace {

model::Timestamp T(const char* iso) { return *model::ParseTimestamp(iso); }
std::string Iso(std::optional<model::Timestamp> t) {
  return t ? model::FormatTimestamp(*t) : "none";
}

TimeZone Zone(const char* name) {
  auto z = TimeZone::Load(name);
  EXPECT_TRUE(z.ok()) << z.status().ToString();
  return z.ok() ? *z : *TimeZone::Load("UTC");
}

CronSchedule Cron(const char* expr) {
  auto c = CronSchedule::Parse(expr);
  EXPECT_TRUE(c.ok()) << expr << ": " << c.status().ToString();
  return c.ok() ? *c : *CronSchedule::Parse("* * * * *");
}

TEST(ReportScheduleTest, DailyInUtc) {
  TimeZone utc = Zone("UTC");
  EXPECT_EQ(Iso(Cron("0 7 * * *").Next(T("2026-11-22T06:59:00Z"), utc)), "2026-11-22T07:00:00Z");
  EXPECT_EQ(Iso(Cron("0 7 * * *").Next(T("2026-11-22T07:00:00Z"), utc)), "2026-11-23T07:00:00Z");
  EXPECT_EQ(Iso(Cron("*/15 * * * *").Next(T("2026-11-22T07:01:00Z"), utc)),
            "2026-11-22T07:15:00Z");
  // Weekdays only: Sunday the 22nd goes to Monday.
  EXPECT_EQ(Iso(Cron("30 6 * * 1-5").Next(T("2026-11-21T12:00:00Z"), utc)),
            "2026-11-23T06:30:00Z");
  EXPECT_EQ(Iso(Cron("0 0 1,15 * *").Next(T("2026-11-02T00:00:00Z"), utc)),
            "2026-11-15T00:00:00Z");
  EXPECT_EQ(Iso(Cron("0 0 31 2 *").Next(T("2026-11-02T00:00:00Z"), utc)), "none");
  // Both day fields restricted: either matches (the 1st, or a Sunday).
  EXPECT_EQ(Iso(Cron("0 9 1 * 0").Next(T("2026-11-22T10:00:00Z"), utc)), "2026-11-29T09:00:00Z");
  EXPECT_EQ(Iso(Cron("0 9 * * 7").Next(T("2026-11-22T10:00:00Z"), utc)), "2026-11-29T09:00:00Z");
}

TEST(ReportScheduleTest, LocalTimeFollowsDaylightSaving) {
  TimeZone london = Zone("Europe/London");
  TimeZone ny = Zone("America/New_York");
  CronSchedule at7 = Cron("0 7 * * *");
  EXPECT_EQ(Iso(at7.Next(T("2026-07-01T00:00:00Z"), london)), "2026-07-01T06:00:00Z");  // BST
  EXPECT_EQ(Iso(at7.Next(T("2026-11-22T00:00:00Z"), london)), "2026-11-22T07:00:00Z");  // GMT
  EXPECT_EQ(Iso(at7.Next(T("2026-11-22T00:00:00Z"), ny)), "2026-11-22T12:00:00Z");      // EST
  // London goes forward at 01:00 UTC on 2026-03-29: 01:30 local does not exist that day.
  CronSchedule at0130 = Cron("30 1 * * *");
  EXPECT_EQ(Iso(at0130.Next(T("2026-03-28T12:00:00Z"), london)), "2026-03-30T00:30:00Z");
  // And back at 01:00 UTC on 2026-10-25: 01:30 local happens twice, fires once (the first).
  EXPECT_EQ(Iso(at0130.Next(T("2026-10-24T12:00:00Z"), london)), "2026-10-25T00:30:00Z");
  EXPECT_EQ(Iso(at0130.Next(T("2026-10-25T00:30:00Z"), london)), "2026-10-26T01:30:00Z");
  EXPECT_EQ(london.OffsetAt(T("2026-07-01T00:00:00Z")), 3600);
  EXPECT_EQ(london.OffsetAt(T("2026-12-01T00:00:00Z")), 0);
}

TEST(ReportScheduleTest, BadInputNamesTheField) {
  for (const char* bad : {"", "0 7 * *", "60 7 * * *", "0 24 * * *", "0 7 0 * *", "0 7 * 13 *",
                          "0 7 * * 8", "*/0 * * * *", "a * * * *", "5-1 * * * *", "0 7 * * * *"}) {
    auto c = CronSchedule::Parse(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().where(), "report.schedule") << bad;
    }
  }
  auto hour = CronSchedule::Parse("0 25 * * *");
  ASSERT_FALSE(hour.ok());
  EXPECT_NE(hour.status().message().find("hour"), std::string::npos);
  EXPECT_TRUE(TimeZone::Load("Mars/Olympus_Mons").status().IsInvalidArgument());
  EXPECT_TRUE(TimeZone::Load("../../etc/passwd").status().IsInvalidArgument());
  catalog::testing::TempDir dir;
  std::ofstream(dir.path() / "Bad") << "not a zone file at all, certainly not TZif";
  EXPECT_EQ(TimeZone::Load("Bad", dir.path()).status().code(), model::StatusCode::kCorruption);
}

TEST(ReportScheduleTest, KeepsTheLastNReports) {
  catalog::testing::TempDir dir;
  std::ofstream(dir.path() / "notes.txt") << "not a report";
  for (int day = 10; day < 20; ++day) {
    std::string at = "2026-11-" + std::to_string(day) + "T07:00:00Z";
    auto path = WriteReportFile(dir.path(), T(at.c_str()), "<html>" + at + "</html>", 3);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
  }
  std::vector<std::string> files = ListReportFiles(dir.path());
  EXPECT_EQ(files, (std::vector<std::string>{"report-20261119T0700Z.html",
                                             "report-20261118T0700Z.html",
                                             "report-20261117T0700Z.html"}));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "notes.txt"));
  std::ifstream in(dir.path() / files[0]);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "<html>2026-11-19T07:00:00Z</html>");
  EXPECT_TRUE(ListReportFiles(dir.path() / "missing").empty());
}

}  // namespace
}  // namespace tidemark::pipeline
