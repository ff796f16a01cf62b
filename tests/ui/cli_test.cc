// The `tidemark` binary, run as a subprocess: what a user or a script sees. The unit under
// test is the binary itself (ui/src/cli.cc), so no header comes first here.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tidemark/catalog/store.h"
#include "ui/http_client.h"
#include "ui/subprocess.h"
#include "ui/temp_dir.h"

namespace tidemark::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome RunTidemark(const std::vector<std::string>& args) {
  Subprocess process(args);
  EXPECT_TRUE(process.started());
  std::optional<int> code = process.Wait();
  EXPECT_TRUE(code) << "tidemark did not exit";
  return {code.value_or(-1), process.out(), process.err()};
}

// The port in "listening on http://127.0.0.1:PORT ...", or 0.
uint16_t ListeningPort(const std::string& log) {
  constexpr std::string_view kPrefix = "listening on http://127.0.0.1:";
  size_t at = log.find(kPrefix);
  if (at == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoi(log.substr(at + kPrefix.size())));
}

void ExpectOneErrorLine(const Outcome& outcome) {
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_EQ(outcome.err.rfind("tidemark: error: ", 0), 0u) << outcome.err;
  EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
}

TEST(CliTest, VersionPrintsVersionAndBuild) {
  Outcome outcome = RunTidemark({"version"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.out.rfind("tidemark 0.1.0\n", 0), 0u) << outcome.out;
  EXPECT_EQ(outcome.err, "");
}

TEST(CliTest, HelpListsSubcommandsAndExitsZero) {
  Outcome outcome = RunTidemark({"--help"});
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* command : {"serve", "demo", "migrate", "version", "ingest", "collect", "detect",
                              "report", "search", "lineage"}) {
    EXPECT_NE(outcome.out.find(command), std::string::npos) << command;
  }
  outcome = RunTidemark({"serve", "--help"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_NE(outcome.out.find("--listen"), std::string::npos) << outcome.out;
}

TEST(CliTest, UnknownFlagIsOneLineAndExit2) {
  Outcome outcome = RunTidemark({"--bogus", "version"});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("--bogus"), std::string::npos) << outcome.err;

  ExpectOneErrorLine(RunTidemark({"serve", "--listen"}));  // missing value
  ExpectOneErrorLine(RunTidemark({}));                     // missing subcommand
}

TEST(CliTest, BadConfigNamesKeyAndLine) {
  TempDir dir("tidemark-cli-test");
  std::string file = dir.Write("tidemark.yml", "db: sqlite:x.db\nserver:\n  listen: abc\n");
  Outcome outcome = RunTidemark({"--config", file, "serve"});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find(file + ":3: server.listen: expected host:port, got \"abc\""),
            std::string::npos)
      << outcome.err;

  file = dir.Write("typo.yml", "db: sqlite:x.db\nlog:\n  levle: debug\n");
  outcome = RunTidemark({"--config", file, "serve"});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find(file + ":3: unknown key \"log.levle\""), std::string::npos)
      << outcome.err;
}

TEST(CliTest, MigrateReportsSchemaVersions) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "m.db").string();
  Outcome first = RunTidemark({"--db", db, "migrate"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  const std::string version = std::to_string(catalog::kSchemaVersion);
  EXPECT_EQ(first.out, "schema version 0 -> " + version + "\n");
  Outcome again = RunTidemark({"migrate", "--db", db});  // global flags may follow
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "schema version " + version + " -> " + version + "\n");
}

TEST(CliTest, ServeAnswersHealthAndStopsOnSigterm) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "serve.db").string();
  auto start = Clock::now();
  Subprocess process({"serve", "--listen", "127.0.0.1:0", "--db", db});
  ASSERT_TRUE(process.started());
  ASSERT_TRUE(process.WaitForOutput("listening on", /*in_stdout=*/false)) << process.err();
  uint16_t port = ListeningPort(process.err());
  ASSERT_NE(port, 0) << process.err();
  auto health = Fetch(port, "GET", "/health");
  auto ready = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::cout << "serve on a new SQLite file answered /health after " << ready.count() << " ms\n";
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->Header("content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(health->body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["version"], "0.1.0");
  EXPECT_EQ(body["store"]["kind"], "sqlite");
  EXPECT_EQ(body["store"]["schema_version"], catalog::kSchemaVersion);
  EXPECT_EQ(body["store"]["reachable"], true);
  EXPECT_NE(body["store"]["url"].get<std::string>().find("serve.db"), std::string::npos);
  EXPECT_TRUE(body["uptime_s"].is_number_integer());

  auto metrics = Fetch(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("tidemark_up 1\n"), std::string::npos);
  EXPECT_NE(metrics->body.find("tidemark_http_requests_total{route=\"/health\",method=\"GET\","
                               "status=\"200\"} 1\n"),
            std::string::npos)
      << metrics->body;

  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(5s), 0) << process.err();
  EXPECT_NE(process.err().find("shutting down"), std::string::npos) << process.err();
}

TEST(CliTest, JsonLogsAreOneObjectPerLine) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "json.db").string();
  Subprocess process({"--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--db", db});
  ASSERT_TRUE(process.WaitForOutput("listening on", /*in_stdout=*/false)) << process.err();
  process.Signal(SIGINT);
  EXPECT_EQ(process.Wait(5s), 0);
  std::istringstream lines(process.err());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(entry.is_discarded()) << line;
    EXPECT_TRUE(entry.contains("ts") && entry.contains("level") && entry["msg"].is_string());
    ++count;
  }
  EXPECT_GE(count, 2);  // "listening on", "received SIGINT", ...
}

TEST(CliTest, DemoTellsWhereToLook) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "demo.db").string();
  Subprocess process({"demo", "--listen", "127.0.0.1:0", "--db", db});
  // Loading, scoring and delivering the demo takes ~7 s under ASan on a busy CI machine.
  ASSERT_TRUE(
      process.WaitForOutput("Tidemark demo: open http://127.0.0.1:", /*in_stdout=*/true, 60s))
      << process.out() << process.err();
  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(5s), 0);
}

TEST(CliTest, StoreFailureNeverPrintsThePassword) {
  // Port 1 on loopback refuses at once: the store cannot open, and the error is logged.
  Outcome outcome =
      RunTidemark({"serve", "--db", "postgresql://tidemark:hunter2@127.0.0.1:1/tidemark"});
  EXPECT_NE(outcome.exit_code, 0);
  EXPECT_NE(outcome.err.find("cannot open store"), std::string::npos) << outcome.err;
  EXPECT_EQ(outcome.err.find("hunter2"), std::string::npos) << outcome.err;
}

}  // namespace
}  // namespace tidemark::test

namespace tidemark::test {
namespace {

std::filesystem::path ShopDir() {
  const char* root = std::getenv("TIDEMARK_SOURCE_DIR");
  return std::filesystem::path(root ? root : ".") / "tests" / "data" / "dbt" / "shop";
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CliTest, IngestDbtPrintsSummaryThenSkipsUnchangedArtifacts) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "ingest.db").string();
  std::string manifest = (ShopDir() / "manifest.json").string();
  std::string results = (ShopDir() / "run_results.json").string();
  Outcome first = RunTidemark({"--db", db, "ingest", "dbt", manifest, results});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json summary = nlohmann::json::parse(first.out);
  EXPECT_GT(summary["assets"]["total"].get<int>(), 0) << first.out;
  EXPECT_GT(summary["runs"].get<int>(), 0);
  EXPECT_EQ(summary["artifacts"]["manifest"]["unchanged"], false);

  Outcome again = RunTidemark({"--db", db, "ingest", "dbt", manifest});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  summary = nlohmann::json::parse(again.out);
  EXPECT_EQ(summary["artifacts"]["manifest"]["unchanged"], true);
  EXPECT_EQ(summary["written"]["assets"], 0);
}

TEST(CliTest, SearchAndLineageReadTheIngestedShop) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "search.db").string();
  Outcome ingest = RunTidemark({"--db", db, "ingest", "dbt", (ShopDir() / "manifest.json").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  Outcome found = RunTidemark({"--db", db, "search", "orders", "--json"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  nlohmann::json body = nlohmann::json::parse(found.out);
  ASSERT_FALSE(body["hits"].empty()) << found.out;
  EXPECT_EQ(body["hits"][0]["name"], "orders") << found.out;
  std::string key = body["hits"][0]["key"];

  Outcome text = RunTidemark({"--db", db, "search", "orders"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(key), std::string::npos) << text.out;

  Outcome graph = RunTidemark({"--db", db, "lineage", key, "--json"});
  ASSERT_EQ(graph.exit_code, 0) << graph.err;
  nlohmann::json g = nlohmann::json::parse(graph.out);
  EXPECT_EQ(g["nodes"][0]["key"], key);
  EXPECT_GT(g["nodes"].size(), 1u) << graph.out;

  // A filter alone lists what it keeps; nothing at all is one clear error line.
  Outcome tables = RunTidemark({"--db", db, "search", "--kind", "table", "--json"});
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  nlohmann::json listed = nlohmann::json::parse(tables.out);
  ASSERT_FALSE(listed["hits"].empty()) << tables.out;
  for (const auto& hit : listed["hits"]) EXPECT_EQ(hit["kind"], "table") << hit;
  ExpectOneErrorLine(RunTidemark({"--db", db, "search"}));
  ExpectOneErrorLine(RunTidemark({"--db", db, "search", std::string(5000, 'x')}));
  Outcome missing = RunTidemark({"--db", db, "lineage", "nope/nothing"});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;

  // Rebuilt from scratch, the index answers as before.
  Outcome reindex = RunTidemark({"--db", db, "reindex"});
  ASSERT_EQ(reindex.exit_code, 0) << reindex.err;
  EXPECT_NE(reindex.out.find("search index rebuilt: "), std::string::npos) << reindex.out;
  Outcome again = RunTidemark({"--db", db, "search", "orders", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out), body);
}

TEST(CliTest, IngestRejectsMalformedArtifactInOneLine) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "bad.db").string();
  std::string truncated =
      (ShopDir().parent_path() / "malformed" / "truncated_manifest.json").string();
  Outcome outcome = RunTidemark({"--db", db, "ingest", "dbt", truncated});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("truncated_manifest.json"), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.err.find("line"), std::string::npos) << outcome.err;

  Outcome unknown = RunTidemark({"--db", db, "ingest", "airbyte", "events.ndjson"});
  ExpectOneErrorLine(unknown);
  EXPECT_EQ(unknown.err,
            "tidemark: error: unknown kind 'airbyte': dbt, openlineage or metrics\n");
}

TEST(CliTest, ServeIngestsDbtOverHttpAsJsonOrMultipart) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "http.db").string();
  Subprocess process({"serve", "--listen", "127.0.0.1:0", "--db", db});
  ASSERT_TRUE(process.WaitForOutput("listening on", /*in_stdout=*/false)) << process.err();
  uint16_t port = ListeningPort(process.err());
  const std::string manifest = ReadText(ShopDir() / "manifest.json");
  ASSERT_FALSE(manifest.empty());

  auto json = Fetch(port, "POST", "/api/v1/ingest/dbt", "{\"manifest\": " + manifest + "}");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200) << json->body;
  EXPECT_GT(nlohmann::json::parse(json->body)["assets"]["total"].get<int>(), 0);

  auto bad = Fetch(port, "POST", "/api/v1/ingest/dbt", "{\"manifest\": {\"nodes\": [1,");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  nlohmann::json error = nlohmann::json::parse(bad->body)["error"];
  EXPECT_EQ(error["code"], "invalid_argument");
  EXPECT_NE(error["where"].get<std::string>().find("request"), std::string::npos) << bad->body;

  const std::string boundary = "tidemark-test-boundary";
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"manifest\"; "
                     "filename=\"manifest.json\"\r\nContent-Type: application/json\r\n\r\n" +
                     manifest + "\r\n--" + boundary + "--\r\n";
  auto client = HttpClient::Connect(port);
  ASSERT_TRUE(client);
  auto multipart = client->Request(
      "POST", "/api/v1/ingest/dbt", body,
      {{"Content-Type", "multipart/form-data; boundary=" + boundary}});
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 200) << multipart->body;
  EXPECT_EQ(nlohmann::json::parse(multipart->body)["artifacts"]["manifest"]["unchanged"], true)
      << "the same manifest, sent again as a file, is recognised";

  auto metrics = Fetch(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("tidemark_ingest_records_total{source=\"dbt\",outcome=\"rejected\"} 1"),
            std::string::npos)
      << metrics->body;
  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(5s), 0) << process.err();
}

// Issue 5: what an ingest brings is scored at once, not at the next periodic run (every 5
// minutes by default; the only periodic run here is the one at start, over an empty store).
TEST(CliTest, ServeScoresPushedMetricsWithoutWaitingForThePeriodicRun) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "scored.db").string();
  Subprocess process({"serve", "--listen", "127.0.0.1:0", "--db", db});
  ASSERT_TRUE(process.WaitForOutput("listening on", /*in_stdout=*/false)) << process.err();
  uint16_t port = ListeningPort(process.err());
  // Detection runs done, from /metrics.
  auto runs_done = [&] {
    auto reply = Fetch(port, "GET", "/metrics");
    const std::string line = "tidemark_detection_runs_total{result=\"ok\"} ";
    const size_t at = reply ? reply->body.find(line) : std::string::npos;
    return at == std::string::npos ? -1 : std::atoi(reply->body.c_str() + at + line.size());
  };
  // The periodic run at start, over the empty store, must be over before the push.
  for (auto until = Clock::now() + 30s; runs_done() < 1 && Clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(runs_done(), 1);

  // Thirty days of a growing table's row counts, then the last hour's: truncated to 50 rows.
  // (Anchored on the clock's hour, not a time of day: detection reads no point in its future.)
  const auto last =
      std::chrono::floor<std::chrono::hours>(std::chrono::system_clock::now()) - 1h;
  const unsigned seed = 5;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<double> added(120, 10);
  double rows = 10000;
  std::string lines;
  for (int d = 30; d >= 0; --d) {
    const std::time_t t = std::chrono::system_clock::to_time_t(last - std::chrono::days(d));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:00:00Z", &tm);
    rows = d == 0 ? 50 : std::round(rows + added(rng));
    lines += nlohmann::json{{"dataset", "postgres://warehouse:5432/shop.public.orders"},
                            {"metric", "row_count"}, {"timestamp", stamp}, {"value", rows}}
                 .dump() + "\n";
  }
  auto pushed = Fetch(port, "POST", "/api/v1/metrics", lines);
  ASSERT_TRUE(pushed);
  ASSERT_EQ(pushed->status / 100, 2) << pushed->body;

  nlohmann::json incidents;
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    auto reply = Fetch(port, "GET", "/api/v1/incidents");
    ASSERT_TRUE(reply);
    incidents = nlohmann::json::parse(reply->body)["incidents"];
    if (!incidents.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(incidents.size(), 1u) << incidents.dump(1) << "\n" << process.err();
  EXPECT_NE(incidents.dump().find("shop.public.orders"), std::string::npos) << incidents.dump();
  EXPECT_EQ(runs_done(), 2) << "one run, over what the push wrote";
  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(5s), 0) << process.err();
}

TEST(CliTest, IngestOpenLineageReadsNdjsonAndNamesTheBadLine) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "ol.db").string();
  auto event = [](const std::string& type, const std::string& time) {
    return nlohmann::json{{"eventType", type},
                          {"eventTime", time},
                          {"run", {{"runId", "5e58a95c-1c71-4231-8984-ac172d5566cf"}}},
                          {"job", {{"namespace", "spark"}, {"name", "daily_orders"}}}}
        .dump();
  };
  std::filesystem::path good = dir.path() / "events.ndjson";
  std::ofstream(good) << event("START", "2024-01-01T00:00:00Z") << "\n"
                      << event("COMPLETE", "2024-01-01T00:10:00Z") << "\n";
  Outcome first = RunTidemark({"--db", db, "ingest", "openlineage", good.string()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json summary = nlohmann::json::parse(first.out);
  EXPECT_EQ(summary["events"]["total"], 2) << first.out;
  EXPECT_EQ(summary["runs"], 2);

  std::filesystem::path bad = dir.path() / "bad.ndjson";
  std::ofstream(bad) << event("START", "2024-01-01T00:00:00Z") << "\n"
                     << event("COMPLETE", "soon") << "\n";
  Outcome outcome = RunTidemark({"--db", db, "ingest", "openlineage", bad.string()});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("bad.ndjson line 2: /eventTime"), std::string::npos) << outcome.err;
}

TEST(CliTest, IngestMetricsReadsCsvAndNamesTheBadLine) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "metrics.db").string();
  std::string good = dir.Write("stats.csv",
                               "dataset,metric,timestamp,value\n"
                               "bigquery/p.d.orders,row_count,2026-11-21T06:00:00Z,10\n"
                               "bigquery/p.d.orders,bytes,2026-11-21T06:00:00Z,2048\n");
  Outcome first = RunTidemark({"--db", db, "ingest", "metrics", good});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(nlohmann::json::parse(first.out)["points"], 2) << first.out;

  std::string bad = dir.Write("bad.csv", "dataset,metric,timestamp,value\nbigquery/p.d.o,row_count,x,1\n");
  Outcome outcome = RunTidemark({"--db", db, "ingest", "metrics", bad});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("bad.csv line 2: timestamp"), std::string::npos) << outcome.err;
}

TEST(CliTest, CollectSaysWhatIsMissingAndExits2) {
  TempDir dir("tidemark-cli-test");
  const std::string db = "sqlite:" + (dir.path() / "c.db").string();
  Outcome outcome = RunTidemark({"--db", db, "collect", "kafka"});
  ExpectOneErrorLine(outcome);
  EXPECT_EQ(outcome.err, "tidemark: error: unknown source kind 'kafka': postgres or dbt\n");

  outcome = RunTidemark({"--db", db, "collect"});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("no sources in the config file"), std::string::npos) << outcome.err;

  std::string config = dir.Write("tidemark.yml", "sources:\n  dbt:\n    - name: shop\n"
                                                 "      path: /no/such/target\n");
  outcome = RunTidemark({"--config", config, "--db", db, "collect", "postgres"});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find("no sources.postgres in the config file"), std::string::npos)
      << outcome.err;
  outcome = RunTidemark({"--config", config, "--db", db, "collect", "dbt", "shopp"});
  ExpectOneErrorLine(outcome);
  EXPECT_EQ(outcome.err, "tidemark: error: no dbt source named 'shopp'\n");
  // A path that is gone fails that source, named, with exit 1.
  outcome = RunTidemark({"--config", config, "--db", db, "collect"});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
  EXPECT_NE(outcome.err.find("collect dbt shop: "), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.err.find("/no/such/target"), std::string::npos) << outcome.err;
}

// A dbt project's target/ folder as a configured source: `collect dbt` ingests it as
// `ingest dbt` would, a relative path is read from the config file's folder, and a second
// collection of the same files changes nothing.
TEST(CliTest, CollectDbtIngestsTheConfiguredTargetFolder) {
  TempDir dir("tidemark-cli-test");
  const std::string db = "sqlite:" + (dir.path() / "c.db").string();
  std::filesystem::create_directories(dir.path() / "project" / "target");
  for (const char* name : {"manifest.json", "run_results.json"}) {
    std::filesystem::copy_file(ShopDir() / name, dir.path() / "project" / "target" / name);
  }
  std::string config = dir.Write("tidemark.yml",
                                 "sources:\n  dbt:\n    - name: shop\n      path: project/target\n"
                                 "      namespace: postgres://db:5432\n");
  Outcome first = RunTidemark({"--config", config, "--db", db, "collect", "dbt"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json summary = nlohmann::json::parse(first.out);
  EXPECT_EQ(summary["source"], "shop");
  EXPECT_EQ(summary["kind"], "dbt");
  EXPECT_EQ(summary["namespace"], "postgres://db:5432");
  EXPECT_EQ(summary["assets"]["total"], 10) << first.out;
  EXPECT_EQ(summary["runs"], 1) << first.out;

  Outcome again = RunTidemark({"--config", config, "--db", db, "collect", "dbt", "shop"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  summary = nlohmann::json::parse(again.out);
  EXPECT_EQ(summary["artifacts"]["manifest"]["unchanged"], true) << again.out;
  EXPECT_EQ(summary["written"]["assets"], 0) << again.out;

  Outcome search = RunTidemark({"--db", db, "search", "customers", "--json"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_GT(nlohmann::json::parse(search.out)["total"].get<int>(), 0) << search.out;
}

TEST(CliTest, CollectPostgresRunsTheConfiguredWarehousesAndHidesPasswords) {
  const char* pg = std::getenv("TIDEMARK_TEST_PG_URL");
  if (!pg || !*pg) GTEST_SKIP() << "TIDEMARK_TEST_PG_URL is not set";
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "collect.db").string();
  std::string config = dir.Write("tidemark.yml", std::string("sources:\n  postgres:\n") +
                                                     "    - name: base\n      dsn: " + pg +
                                                     "\n      include_schemas: [no_such_schema]\n");
  Outcome ok = RunTidemark({"--config", config, "--db", db, "collect", "postgres"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  nlohmann::json summary = nlohmann::json::parse(ok.out);
  EXPECT_EQ(summary["source"], "base");
  EXPECT_EQ(summary["tables"], 0);

  std::string down = dir.Write(
      "down.yml", "sources:\n  postgres:\n    - name: down\n      dsn: "
                  "postgresql://u:s3cret-pw@127.0.0.1:1/x?connect_timeout=2\n");
  Outcome failed = RunTidemark({"--config", down, "--db", db, "collect", "postgres"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("down"), std::string::npos) << failed.err;
  EXPECT_EQ(failed.err.find("s3cret-pw"), std::string::npos) << failed.err;
}

}  // namespace
}  // namespace tidemark::test

namespace tidemark::test {
namespace {

TEST(CliTest, DetectOverTheStoreRecordsTriggersOnceAndPrintsJson) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "detect.db").string();
  Outcome ingest = RunTidemark({"--db", db, "ingest", "dbt", ShopDir().string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  Outcome first = RunTidemark({"--db", db, "detect", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto summary = nlohmann::json::parse(first.out);
  // The shop's run_results.json holds one failed test and one model in error.
  EXPECT_EQ(summary["detection"]["triggers_new"], 2) << first.out;
  EXPECT_GE(summary["detection"]["assets"].get<int>(), 5);
  EXPECT_TRUE(summary.contains("incidents"));
  Outcome second = RunTidemark({"--db", db, "detect", "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["detection"]["anomalies_new"], 0) << second.out;
  Outcome text = RunTidemark({"--db", db, "detect"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_EQ(text.out.rfind("detect: ", 0), 0u) << text.out;
}

TEST(CliTest, DetectSeriesRunsTheBacktestAndBadCsvIsOneLine) {
  TempDir dir("tidemark-cli-test");
  std::string csv = "key,metric,timestamp,value\n";
  for (int d = 1; d <= 28; ++d) {
    char day[32];
    std::snprintf(day, sizeof day, "2026-02-%02dT06:00:00Z", d);
    csv += std::string("shop/orders,rows_affected,") + day + "," + (d == 28 ? "3" : std::to_string(1000 + (d * 37) % 23)) + "\n";
  }
  Outcome ok = RunTidemark({"detect", "--series", dir.Write("s.csv", csv)});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto line = nlohmann::json::parse(ok.out.substr(0, ok.out.find('\n')));
  EXPECT_EQ(line["key"], "shop/orders");
  EXPECT_EQ(line["timestamp"], "2026-02-28T06:00:00Z");
  EXPECT_EQ(line["detector"], "volume");

  std::string bad = dir.Write("bad.csv", "key,metric,timestamp,value\na,row_count,yesterday,1\n");
  Outcome outcome = RunTidemark({"detect", "--series", bad});
  ExpectOneErrorLine(outcome);
  EXPECT_NE(outcome.err.find(bad + ":2: timestamp 'yesterday' is not ISO-8601"), std::string::npos)
      << outcome.err;
}

TEST(CliTest, RoutesTestExplainsChannelsWithoutPrintingSecrets) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "routes.db").string();
  ASSERT_EQ(RunTidemark({"--db", db, "ingest", "dbt", ShopDir().string()}).exit_code, 0);
  std::string config = dir.Write("tidemark.yml",
                                 "db: " + db + "\n"
                                 "channels:\n"
                                 "  ops:\n"
                                 "    kind: slack\n"
                                 "    url: https://hooks.slack.com/services/T0/B0/TOPSECRET\n"
                                 "  marts:\n"
                                 "    kind: webhook\n"
                                 "    url: https://example.com/hooks/TOPSECRET\n"
                                 "    secret: TOPSECRET\n"
                                 "routes:\n"
                                 "  default: ops\n"
                                 "  rules:\n"
                                 "    - name: marts\n"
                                 "      asset: \"*.marts.*\"\n"
                                 "      channels: [marts]\n");
  Outcome marts = RunTidemark({"--config", config, "routes", "test", "model.shop.fct_orders"});
  ASSERT_EQ(marts.exit_code, 0) << marts.err;
  EXPECT_NE(marts.out.find("marts (webhook, https://example.com/***): route marts matched"),
            std::string::npos)
      << marts.out;
  Outcome other = RunTidemark({"--config", config, "routes", "test", "model.shop.stg_orders", "--json"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  auto j = nlohmann::json::parse(other.out);
  EXPECT_EQ(j["channels"][0]["channel"], "ops");
  EXPECT_EQ(j["channels"][0]["reason"], "catch-all default route");
  EXPECT_EQ((marts.out + other.out + marts.err + other.err).find("TOPSECRET"), std::string::npos);

  std::string typo = dir.Write("typo.yml", "db: " + db + "\nchannels:\n  ops:\n    kind: slak\n    url: https://x/y\n");
  Outcome bad = RunTidemark({"--config", typo, "routes", "test", "model.shop.fct_orders"});
  ExpectOneErrorLine(bad);
  EXPECT_NE(bad.err.find(typo + ":4: channels.ops.kind: expected slack, teams, webhook or file"),
            std::string::npos)
      << bad.err;
}

TEST(CliTest, ReportOnAnEmptyStoreIsShortAndWritesEachFormat) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "r.db").string();
  std::string html = (dir.path() / "r.html").string();
  Outcome outcome = RunTidemark({"--db", db, "report", "--out", html});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  std::ifstream in(html);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Nothing to report yet"), std::string::npos) << text;
  outcome = RunTidemark({"--db", db, "report", "--format", "md", "--since", "7d"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out.rfind("# Tidemark nightly report", 0), 0u) << outcome.out;
  outcome = RunTidemark({"--db", db, "report", "--format", "json"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("\"empty_store\": true"), std::string::npos) << outcome.out;
  ExpectOneErrorLine(RunTidemark({"--db", db, "report", "--since", "yesterday"}));
  ExpectOneErrorLine(RunTidemark({"--db", db, "report", "--format", "pdf"}));
}

}  // namespace
}  // namespace tidemark::test

namespace tidemark::test {
namespace {

// The local channel and the backfill settings of the config file (issue 10).
TEST(CliTest, FileChannelAndBackfillSettingsAreReadAndChecked) {
  TempDir dir("tidemark-cli-test");
  std::string db = "sqlite:" + (dir.path() / "f.db").string();
  std::string config = dir.Write(
      "file.yml", "db: " + db +
                      "\nchannels:\n  audit:\n    kind: file\n    path: " +
                      (dir.path() / "alerts.jsonl").string() +
                      "\nroutes:\n  default: audit\n  announce_within: 12h\ndetectors:\n"
                      "  backfill_days: 30\n");
  ASSERT_EQ(RunTidemark({"--db", db, "ingest", "dbt", (ShopDir() / "manifest.json").string()})
                .exit_code,
            0);
  Outcome ok =
      RunTidemark({"--config", config, "routes", "test", "model.shop.fct_orders", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["channels"][0]["channel"], "audit") << ok.out;

  auto expect_error = [&](const std::string& name, const std::string& yaml,
                          const std::string& message) {
    std::string file = dir.Write(name, "db: " + db + "\n" + yaml);
    Outcome bad = RunTidemark({"--config", file, "routes", "test", "model.shop.orders"});
    ExpectOneErrorLine(bad);
    EXPECT_NE(bad.err.find(message), std::string::npos) << bad.err;
  };
  expect_error("nopath.yml", "channels:\n  audit:\n    kind: file\n",
               "channels.audit: missing path");
  expect_error("url.yml", "channels:\n  audit:\n    kind: file\n    url: https://x/y\n",
               "channels.audit: a file channel takes path, not url");
  expect_error("days.yml", "detectors:\n  backfill_days: -3\n",
               ":3: detectors.backfill_days: expected 0 to 365 days, got \"-3\"");
  expect_error("key.yml", "detectors:\n  backfill: 3\n", "unknown key \"detectors.backfill\"");
}

}  // namespace
}  // namespace tidemark::test
