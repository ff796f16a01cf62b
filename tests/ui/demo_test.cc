// `tidemark demo` end to end: the real binary on a fresh store, read back over loopback HTTP,
// from its report file and its alert log, then interrupted with Ctrl-C and run again.
// The unit under test is the binary (ui/src/demo.cc through ui/src/cli.cc), so no header
// comes first here.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/test_stores.h"
#include "tidemark/catalog/store.h"
#include "tidemark/pipeline/demo_data.h"
#include "ui/http_client.h"
#include "ui/subprocess.h"
#include "ui/temp_dir.h"

namespace tidemark::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<json> ReadJsonLines(const std::filesystem::path& path) {
  std::vector<json> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << path << ": " << line;
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

// The port in "Tidemark demo: open http://127.0.0.1:PORT/", or 0.
uint16_t DemoPort(const std::string& out) {
  constexpr std::string_view kPrefix = "Tidemark demo: open http://127.0.0.1:";
  size_t at = out.find(kPrefix);
  return at == std::string::npos ? 0
                                 : static_cast<uint16_t>(std::stoi(out.substr(at + kPrefix.size())));
}

// The detector name an injected incident's anomalies carry.
std::string DetectorOf(const pipeline::DemoIncident& injected) {
  return injected.detector == "dbt" ? "dbt_test" : injected.detector;
}

// What one run of the demo showed.
struct DemoRun {
  std::string out;
  std::string err;
  double ready_ms = 0;
  json incidents;                 // GET /api/v1/incidents
  json alerts;                    // GET /api/v1/alerts
  std::string alerts_page;        // GET /demo/alerts
  std::string report;             // GET /reports/<file>
  std::string report_file;
};

// Starts the demo on `db` in `dir`, reads what it serves, then stops it with SIGINT.
void RunDemo(const std::filesystem::path& dir, const std::string& db, DemoRun& run) {
  const auto started = Clock::now();
  Subprocess demo({"demo", "--listen", "127.0.0.1:0", "--db", db}, dir.string());
  ASSERT_TRUE(demo.started());
  // The last line printed: everything is in place once it is out.
  ASSERT_TRUE(demo.WaitForOutput("  alerts: http://", /*in_stdout=*/true, 60s))
      << demo.out() << demo.err();
  run.ready_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  run.out = demo.out();
  const uint16_t port = DemoPort(run.out);
  ASSERT_NE(port, 0) << run.out;

  auto get = [&](const std::string& target) {
    auto reply = Fetch(port, "GET", target);
    EXPECT_TRUE(reply) << target;
    EXPECT_EQ(reply ? reply->status : 0, 200) << target << ": " << (reply ? reply->body : "");
    return reply ? reply->body : std::string();
  };
  run.incidents = json::parse(get("/api/v1/incidents"), nullptr, false);
  run.alerts = json::parse(get("/api/v1/alerts?limit=1000"), nullptr, false);
  run.alerts_page = get("/demo/alerts");
  size_t at = run.out.find("/reports/report-");
  ASSERT_NE(at, std::string::npos) << run.out;
  run.report_file = run.out.substr(at + 9, run.out.find(' ', at) - at - 9);
  run.report = get("/reports/" + run.report_file);

  demo.Signal(SIGINT);
  std::optional<int> code = demo.Wait(30s);
  run.err = demo.err();
  EXPECT_EQ(code, 0) << run.err;
}

// The demo on `db` (a fresh store): the five injected incidents are on the API, in the
// report, in the alert log and on the receiver's page; a second run changes nothing; the
// store opens fine after each Ctrl-C.
void CheckDemo(const std::string& db, const std::filesystem::path& dir) {
  DemoRun first;
  RunDemo(dir, db, first);
  if (::testing::Test::HasFatalFailure()) return;
  std::printf("demo ready in %.0f ms (first run)\n%s", first.ready_ms, first.out.c_str());

  // The store is usable after Ctrl-C, and says when the history is anchored.
  auto store = catalog::OpenStore({.url = db});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Ping().ok());
  auto anchor = (*store)->GetCheckpoint("demo", "anchor");
  ASSERT_TRUE(anchor.ok()) << anchor.status().ToString();
  auto anchor_ts = model::ParseTimestamp(anchor->value);
  ASSERT_TRUE(anchor_ts);
  store->reset();

  // Each injected incident is one incident of its own, rooted where it happened, with a
  // symptom of the right detector inside its window.
  ASSERT_TRUE(first.incidents.is_object()) << first.incidents;
  const json& incidents = first.incidents["incidents"];
  std::map<std::string, json> found;  // injected name -> incident
  for (const pipeline::DemoIncident& injected : pipeline::DemoIncidents(*anchor_ts)) {
    SCOPED_TRACE(injected.name);
    for (const json& inc : incidents) {
      bool match = false;
      for (const json& s : inc["properties"]["symptoms"]) {
        auto ts = model::ParseTimestamp(s["ts"].get<std::string>());
        match = match || (s["asset"] == injected.asset.ToString() &&
                          s["detector"] == DetectorOf(injected) && ts &&
                          *ts >= injected.from && *ts < injected.to);
      }
      if (match) {
        EXPECT_FALSE(found.count(injected.name)) << "found twice";
        found[injected.name] = inc;
      }
    }
    ASSERT_TRUE(found.count(injected.name)) << incidents.dump(1);
    const json& inc = found[injected.name];
    EXPECT_EQ(inc["root"], injected.asset.ToString());
    // The incident began when the problem did, not when the demo ran.
    auto opened = model::ParseTimestamp(inc["opened_at"].get<std::string>());
    ASSERT_TRUE(opened);
    EXPECT_GE(*opened, injected.from - std::chrono::hours(24));
    EXPECT_LT(*opened, injected.to);
  }
  std::set<std::string> ids;
  for (const auto& [name, inc] : found) ids.insert(inc["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 5u) << "each injected incident is its own incident";
  EXPECT_EQ(incidents.size(), 5u) << "and nothing else opened one: " << incidents.dump(1);
  // Still going: the stall and the broken build; over: the halved day and the zero weekend.
  EXPECT_EQ(found["hubspot_stall"]["state"], "open");
  EXPECT_EQ(found["products_column_dropped"]["state"], "open");
  EXPECT_EQ(found["dim_customers_test_failed"]["state"], "open");
  EXPECT_EQ(found["purchases_halved"]["state"], "resolved");
  EXPECT_EQ(found["exchange_rates_zero"]["state"], "resolved");
  // The dropped column broke the build of dim_products and hit sales downstream.
  const json& products = found["products_column_dropped"]["properties"];
  std::set<std::string> detectors;
  for (const json& s : products["symptoms"]) detectors.insert(s["detector"].get<std::string>());
  EXPECT_TRUE(detectors.count("schema")) << products.dump();
  const std::string impact = products["impact"].dump();
  EXPECT_NE(impact.find("dim_products"), std::string::npos) << impact;
  EXPECT_NE(impact.find("sales"), std::string::npos) << impact;
  // The zero load began on a Saturday.
  const json& zero = found["exchange_rates_zero"];
  auto zero_at = model::ParseTimestamp(zero["opened_at"].get<std::string>());
  ASSERT_TRUE(zero_at);
  EXPECT_EQ(std::chrono::weekday(std::chrono::floor<std::chrono::days>(*zero_at)),
            std::chrono::Saturday);

  // Every alert went out: none pending, none dead.
  for (const json& a : first.alerts["alerts"]) {
    EXPECT_EQ(a["state"], "delivered") << a.dump();
  }
  // The alert log (kind file) and the receiver's page each hold every incident.
  const std::filesystem::path log = dir / "tidemark-demo-alerts.log";
  std::vector<json> lines = ReadJsonLines(log);
  std::map<std::string, std::set<std::string>> events;  // incident -> events logged
  std::set<std::string> keys;
  for (const json& line : lines) {
    events[line["incident_id"].get<std::string>()].insert(line["event"].get<std::string>());
    keys.insert(line["idempotency_key"].get<std::string>());
  }
  EXPECT_EQ(keys.size(), lines.size()) << "an alert logged twice";
  for (const auto& [name, inc] : found) {
    const std::string id = inc["id"];
    EXPECT_TRUE(events[id].count("opened")) << name;
    if (inc["state"] == "resolved") {
      EXPECT_TRUE(events[id].count("resolved")) << name;
    }
    EXPECT_NE(first.alerts_page.find(id), std::string::npos) << name << " not on /demo/alerts";
  }
  // The report names each.
  for (const char* name : {"hubspot_contacts", "purchases", "products", "exchange_rates",
                           "dim_customers"}) {
    EXPECT_NE(first.report.find(name), std::string::npos) << name << " not in the report";
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "tidemark-demo-reports" / first.report_file));
  // It printed the five incidents and where to look.
  for (const auto& [name, inc] : found) {
    EXPECT_NE(first.out.find(inc["title"].get<std::string>().substr(0, 40)), std::string::npos)
        << name;
  }
  EXPECT_NE(first.out.find("/demo/alerts"), std::string::npos);
  EXPECT_NE(first.out.find("tidemark-demo-alerts.log"), std::string::npos);

  // Again on the same store: the same incidents, no alert sent twice.
  DemoRun second;
  RunDemo(dir, db, second);
  if (::testing::Test::HasFatalFailure()) return;
  std::printf("demo ready in %.0f ms (second run)\n", second.ready_ms);
  std::set<std::string> again;
  for (const json& inc : second.incidents["incidents"]) again.insert(inc["id"].get<std::string>());
  EXPECT_EQ(again, ids);
  EXPECT_EQ(ReadJsonLines(log).size(), lines.size()) << "the second run logged alerts again";
  auto reopened = catalog::OpenStore({.url = db});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto counts = (*reopened)->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->incidents, 5);
  EXPECT_EQ(counts->alerts, static_cast<long long>(lines.size()) * 2)  // log and receiver
      << "alerts enqueued by the second run";
}

TEST(DemoTest, FiveIncidentsOnTheApiTheReportTheLogAndThePageOnSqlite) {
  TempDir dir("tidemark-demo-test");
  CheckDemo("sqlite:" + (dir.path() / "demo.db").string(), dir.path());
}

TEST(DemoTest, FiveIncidentsOnPostgres) {
  TM_REQUIRE_PG();
  catalog::testing::ScratchPgDatabase pg;
  TempDir dir("tidemark-demo-pg-test");
  CheckDemo(pg.url(), dir.path());
}

}  // namespace
}  // namespace tidemark::test
