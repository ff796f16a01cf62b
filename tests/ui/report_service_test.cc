// The report section of the config file, the /reports/ routes over a real folder, and the
// scheduler writing a report from a real SQLite store when its (manual) clock reaches the
// schedule.

#include "report_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tidemark/pipeline/report_schedule.h"
#include "tidemark/ui/http.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using test::TempDir;

Config WithFile(const std::string& text) {
  auto c = ParseConfig(text, "tidemark.yml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return Config{};
  c->file = "tidemark.yml";  // as LoadConfig records them
  c->file_text = text;
  return *c;
}

TEST(ReportServiceTest, ReadsTheReportSection) {
  auto none = ReportScheduleFrom(WithFile("db: sqlite:x.db\n"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->enabled);
  auto c = ReportScheduleFrom(WithFile(
      "db: sqlite:x.db\nreport:\n  schedule: \"0 7 * * 1-5\"\n  time_zone: Europe/London\n"
      "  keep: 3\n  dir: /tmp/r\n  since: 7d\n  title: Acme\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->schedule, "0 7 * * 1-5");
  EXPECT_EQ(c->time_zone, "Europe/London");
  EXPECT_EQ(c->keep, 3u);
  EXPECT_EQ(c->dir, "/tmp/r");
  EXPECT_EQ(c->since, "7d");
  EXPECT_EQ(c->title, "Acme");

  auto bad_cron = ReportScheduleFrom(WithFile("report:\n  keep: 2\n  schedule: \"61 7 * * *\"\n"));
  ASSERT_FALSE(bad_cron.ok());
  EXPECT_EQ(bad_cron.status().where(), "tidemark.yml:3: report.schedule");
  EXPECT_NE(bad_cron.status().message().find("minute"), std::string::npos);
  auto bad_key = ReportScheduleFrom(WithFile("report:\n  schedual: \"0 7 * * *\"\n"));
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("report.schedual"), std::string::npos);
  EXPECT_EQ(bad_key.status().where(), "tidemark.yml:2");
  EXPECT_FALSE(ReportScheduleFrom(WithFile("report:\n  schedule: \"0 7 * * *\"\n  time_zone: "
                                           "Nowhere/Land\n")).ok());
  EXPECT_FALSE(ReportScheduleFrom(WithFile("report:\n  keep: 0\n")).ok());
}

TEST(ReportServiceTest, ReadsNotifyAndBaseUrl) {
  auto c = ReportScheduleFrom(WithFile("report:\n  schedule: \"0 7 * * *\"\n"
                                       "  notify: [ops, data]\n  base_url: https://t.example.com/\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->notify, (std::vector<std::string>{"ops", "data"}));
  EXPECT_EQ(c->notify_where, "tidemark.yml:3: report.notify");
  pipeline::RoutingConfig routing;
  EXPECT_EQ(ReportBaseUrl(*c, routing, "127.0.0.1:8080"), "https://t.example.com");
  c->base_url.clear();
  EXPECT_EQ(ReportBaseUrl(*c, routing, "127.0.0.1:8080"), "http://127.0.0.1:8080");
  routing.base_url = "https://r.example.com";
  EXPECT_EQ(ReportBaseUrl(*c, routing, "127.0.0.1:8080"), "https://r.example.com");
  auto one = ReportScheduleFrom(WithFile("report:\n  notify: ops\n"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->notify, std::vector<std::string>{"ops"});
  auto bad = ReportScheduleFrom(WithFile("report:\n  base_url: ftp://x\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "tidemark.yml:2");
  EXPECT_FALSE(ReportScheduleFrom(WithFile("report:\n  notify: {a: b}\n")).ok());
}

TEST(ReportServiceTest, EachReportEnqueuesItsSummaryOnceForTheNotifyChannels) {
  TempDir dir("tidemark-reports");
  model::ManualClock clock(*model::ParseTimestamp("2026-11-22T07:00:00Z"));
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir.path() / "t.db").string()});
  ASSERT_TRUE(store.ok());
  pipeline::RoutingConfig routing;
  // The URL is a secret: it must not show in the error for an unknown channel nor anywhere
  // in the outbox.
  routing.channels = {{"ops", pipeline::ChannelKind::kSlack,
                       "https://hooks.slack.com/services/T0/B0/SECRET", "", {}, ""}};
  ReportScheduleConfig config;
  config.enabled = true;
  config.schedule = "0 7 * * *";
  config.dir = (dir.path() / "reports").string();
  config.notify = {"ops", "missing"};
  config.notify_where = "tidemark.yml:9: report.notify";
  auto refused = ReportScheduler::Start(**store, config, clock, routing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().where(), "tidemark.yml:9: report.notify");
  EXPECT_NE(refused.status().message().find("\"missing\""), std::string::npos);
  EXPECT_EQ(refused.status().ToString().find("SECRET"), std::string::npos);

  config.notify = {"ops"};
  config.base_url = ReportBaseUrl(config, routing, "127.0.0.1:8080");
  auto scheduler = ReportScheduler::Start(**store, config, clock, routing);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status().ToString();
  const auto at = *model::ParseTimestamp("2026-11-22T07:00:00Z");
  ASSERT_TRUE((*scheduler)->WriteNow(at).ok());
  ASSERT_TRUE((*scheduler)->WriteNow(at).ok());  // the same report again: announced once
  auto alerts = (*store)->ListAlerts(std::nullopt, 10);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  const model::Alert& a = (*alerts)[0];
  EXPECT_EQ(a.channel, "ops");
  EXPECT_EQ(a.event, "report");
  EXPECT_EQ(a.idempotency_key, "report:report-20261122T0700Z:ops");
  EXPECT_NE(a.payload.find("\"url\":\"http://127.0.0.1:8080/reports/report-20261122T0700Z.html\""),
            std::string::npos)
      << a.payload;
  EXPECT_EQ(a.payload.find("SECRET"), std::string::npos);
}

Response Get(const Router& router, const std::string& target) {
  auto request = ParseRequestTarget("GET", target);
  EXPECT_TRUE(request.ok());
  return router.Handle(*request);
}

TEST(ReportServiceTest, ServesKeptReportsAndNothingElse) {
  TempDir dir("tidemark-reports");
  const auto at = *model::ParseTimestamp("2026-11-22T07:00:00Z");
  ASSERT_TRUE(pipeline::WriteReportFile(dir.path(), at, "<html>night</html>", 5).ok());
  std::ofstream(dir.path() / "secret.txt") << "not served";
  Router router;
  ASSERT_TRUE(AddReportRoutes(router, dir.path().string()).ok());
  Response index = Get(router, "/reports/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("/reports/report-20261122T0700Z.html"), std::string::npos);
  EXPECT_EQ(index.body.find("secret"), std::string::npos);
  Response file = Get(router, "/reports/report-20261122T0700Z.html");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "<html>night</html>");
  EXPECT_EQ(file.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Get(router, "/reports/secret.txt").status, 404);
  EXPECT_EQ(Get(router, "/reports/..%2Fsecret.txt").status, 404);
}

TEST(ReportServiceTest, SchedulerWritesWhenTheClockReachesTheSchedule) {
  TempDir dir("tidemark-reports");
  model::ManualClock clock(*model::ParseTimestamp("2026-11-22T06:59:59.800Z"));
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir.path() / "t.db").string()});
  ASSERT_TRUE(store.ok());
  ReportScheduleConfig config;
  config.enabled = true;
  config.schedule = "0 7 * * *";
  config.dir = (dir.path() / "reports").string();
  config.keep = 2;
  auto scheduler = ReportScheduler::Start(**store, config, clock, pipeline::RoutingConfig{});
  ASSERT_TRUE(scheduler.ok()) << scheduler.status().ToString();
  // Let the scheduler read the clock and go to sleep before the time comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  clock.Set(*model::ParseTimestamp("2026-11-22T07:00:00.100Z"));
  std::vector<std::string> files;
  for (int i = 0; i < 100 && files.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    files = pipeline::ListReportFiles(config.dir);
  }
  ASSERT_EQ(files, std::vector<std::string>{"report-20261122T0700Z.html"});
  scheduler->reset();  // stops and joins promptly while the next fire is a day away
  std::ifstream in(std::filesystem::path(config.dir) / files[0]);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Nothing to report yet"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::ui
