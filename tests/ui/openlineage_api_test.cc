// POST /api/v1/lineage and /api/v1/lineage/batch over real HTTP on loopback, served by a real
// Service on a real SQLite file: 201 only once the events are committed to the event log
// (checked through a second connection to the same file), with their ids; the catalog once
// GET /api/v1/lineage/status says they are projected; 400 naming the JSON path with nothing
// stored; 413 for a body over the limit; and keep-alive across many events.

#include "openlineage_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "collector/fixtures.h"
#include "ingest_api.h"
#include "tidemark/ui/service.h"
#include "ui/http_client.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json Event(const std::string& run_id, const std::string& type, const std::string& time) {
  return {{"eventType", type},
          {"eventTime", time},
          {"producer", "https://example.com/test"},
          {"run", {{"runId", run_id}}},
          {"job", {{"namespace", "dagster"}, {"name", "orders_asset"}}},
          {"inputs", json::array({{{"namespace", "postgres://db:5432"}, {"name", "shop.public.raw"}}})},
          {"outputs", json::array({{{"namespace", "postgres://db:5432"}, {"name", "shop.public.orders"}}})}};
}

class OpenLineageApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "ol.db").string();
    auto store = catalog::OpenStore({.url = url_});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ServiceOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = 0;
    options.server.handle_signals = false;
    options.server.body_limit_bytes = 64 << 10;
    auto service = Service::Create(*store_, options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    ASSERT_TRUE(AddIngestRoutes(service_->router(), *store_, service_->metrics()).ok());
    thread_ = std::thread([this] { service_->Run(); });
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  // What a separate reader of the database sees: only committed data.
  std::unique_ptr<catalog::Store> Reader() {
    auto store = catalog::OpenStore({.url = url_});
    EXPECT_TRUE(store.ok());
    return store.ok() ? std::move(*store) : nullptr;
  }
  uint16_t port() const { return service_->port(); }

  // The last id of a 201 body, after checking a separate reader sees it logged (durable).
  std::int64_t LoggedId(const test::HttpReply& reply) {
    json ids = json::parse(reply.body)["ids"];
    EXPECT_FALSE(ids.empty()) << reply.body;
    if (ids.empty()) return 0;
    const std::int64_t last = ids.back().get<std::int64_t>();
    auto status = Reader()->GetLineageLogStatus();
    EXPECT_TRUE(status.ok());
    if (status.ok()) {
      EXPECT_GE(status->last_id, last);
    }
    return last;
  }
  // Polls GET /api/v1/lineage/status until events through `id` are projected (deadline 10 s).
  void WaitProjected(std::int64_t id) {
    auto until = std::chrono::steady_clock::now() + 10s;
    json status;
    while (std::chrono::steady_clock::now() < until) {
      auto reply = test::Fetch(port(), "GET", "/api/v1/lineage/status");
      ASSERT_TRUE(reply);
      ASSERT_EQ(reply->status, 200) << reply->body;
      status = json::parse(reply->body);
      if (status["projected_through"].get<std::int64_t>() >= id) return;
      std::this_thread::sleep_for(2ms);
    }
    FAIL() << "not projected through " << id << ": " << status.dump();
  }

  test::TempDir dir_{"tidemark-ol-api-test"};
  std::string url_;
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<Service> service_;
  std::thread thread_;
};

TEST_F(OpenLineageApiTest, OneEventIs201AndCommitted) {
  const std::string text = tidemark::testing::ReadFile(
      tidemark::testing::SharedFixtures() / "openlineage/marquez/test-resources/open_lineage/event_full.json");
  ASSERT_FALSE(text.empty());
  auto reply = test::Fetch(port(), "POST", "/api/v1/lineage", text);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 201) << reply->body;
  EXPECT_EQ(json::parse(reply->body)["events"]["total"], 1);
  WaitProjected(LoggedId(*reply));
  auto reader = Reader();
  ASSERT_TRUE(reader);
  auto run = reader->GetRun(json::parse(text)["run"]["runId"].get<std::string>());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->state, model::RunState::kComplete);
}

TEST_F(OpenLineageApiTest, InvalidEventIs400WithItsPathAndStoresNothing) {
  json e = Event("9b4e2a6c-1f0d-4c3e-8a5b-7d6e5f4a3b2c", "START", "2024-03-01T00:00:00Z");
  e["run"]["runId"] = "not-a-uuid";
  auto reply = test::Fetch(port(), "POST", "/api/v1/lineage", e.dump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400) << reply->body;
  json error = json::parse(reply->body)["error"];
  EXPECT_EQ(error["code"], "invalid_argument");
  EXPECT_EQ(error["where"], "request: /run/runId");

  auto syntax = test::Fetch(port(), "POST", "/api/v1/lineage", "{\"eventTime\": ");
  ASSERT_TRUE(syntax);
  EXPECT_EQ(syntax->status, 400) << syntax->body;

  auto batch = test::Fetch(
      port(), "POST", "/api/v1/lineage/batch",
      json::array({Event("9b4e2a6c-1f0d-4c3e-8a5b-7d6e5f4a3b2c", "START", "2024-03-01T00:00:00Z"),
                   Event("9b4e2a6c-1f0d-4c3e-8a5b-7d6e5f4a3b2c", "COMPLETE", "tomorrow")})
          .dump());
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 400) << batch->body;
  EXPECT_EQ(json::parse(batch->body)["error"]["where"], "request: /1: /eventTime");
  auto counts = Reader()->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->runs, 0);
  EXPECT_EQ(counts->assets, 0);
  EXPECT_EQ(Reader()->GetLineageLogStatus()->last_id, 0);  // nothing logged either
}

TEST_F(OpenLineageApiTest, BatchTakesAnArrayOrNdjson) {
  const std::string id = "1d8f4596-b3f2-4ebb-9e75-8ecc955b834a";
  json array = json::array({Event(id, "START", "2024-03-01T00:00:00Z"),
                            Event(id, "RUNNING", "2024-03-01T00:01:00Z")});
  auto reply = test::Fetch(port(), "POST", "/api/v1/lineage/batch", array.dump());
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 201) << reply->body;
  EXPECT_EQ(json::parse(reply->body)["events"]["total"], 2);
  std::string ndjson = Event(id, "COMPLETE", "2024-03-01T00:05:00Z").dump() + "\n\n" +
                       Event(id, "COMPLETE", "2024-03-01T00:05:00Z").dump() + "\n";
  reply = test::Fetch(port(), "POST", "/api/v1/lineage/batch", ndjson);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 201) << reply->body;
  EXPECT_EQ(json::parse(reply->body)["events"]["total"], 2);
  EXPECT_EQ(json::parse(reply->body)["ids"].size(), 2u);
  WaitProjected(LoggedId(*reply));
  auto run = Reader()->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, model::RunState::kComplete);
  EXPECT_EQ(run->started_at, model::ParseTimestamp("2024-03-01T00:00:00Z"));
}

TEST_F(OpenLineageApiTest, OversizedBodyIs413) {
  json e = Event("9b4e2a6c-1f0d-4c3e-8a5b-7d6e5f4a3b2c", "START", "2024-03-01T00:00:00Z");
  e["job"]["facets"] = {{"sql", {{"query", std::string(70 << 10, 'x')}}}};
  auto reply = test::Fetch(port(), "POST", "/api/v1/lineage", e.dump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413) << reply->body;
  auto counts = Reader()->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->runs, 0);
  EXPECT_EQ(Reader()->GetLineageLogStatus()->last_id, 0);
}

TEST_F(OpenLineageApiTest, ManyEventsOnOneKeepAliveConnection) {
  auto client = test::HttpClient::Connect(port());
  ASSERT_TRUE(client);
  std::int64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    auto reply = client->Request("POST", "/api/v1/lineage",
                                 Event(id, "COMPLETE", "2024-03-01T00:00:00Z").dump(),
                                 {{"Content-Type", "application/json"}});
    ASSERT_TRUE(reply) << i;
    ASSERT_EQ(reply->status, 201) << reply->body;
    const std::int64_t logged = json::parse(reply->body)["ids"][0].get<std::int64_t>();
    EXPECT_GT(logged, last);
    last = logged;
  }
  WaitProjected(last);
  auto counts = Reader()->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->runs, 50);
}

// The status endpoint shows the backlog and its age, and /metrics the same gauges; both
// reach 0 waiting once the projector has caught up.
TEST_F(OpenLineageApiTest, StatusShowsTheBacklogReachingZero) {
  auto idle = test::Fetch(port(), "GET", "/api/v1/lineage/status");
  ASSERT_TRUE(idle);
  ASSERT_EQ(idle->status, 200) << idle->body;
  json s = json::parse(idle->body);
  EXPECT_EQ(s["waiting"], 0);
  EXPECT_EQ(s["last_id"], 0);
  EXPECT_TRUE(s["oldest_waiting_age_s"].is_null());

  json batch = json::array();
  for (int i = 0; i < 30; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    batch.push_back(Event(id, "START", "2024-03-01T00:00:00Z"));
  }
  auto reply = test::Fetch(port(), "POST", "/api/v1/lineage/batch", batch.dump());
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 201) << reply->body;
  const std::int64_t last = LoggedId(*reply);
  WaitProjected(last);
  // The projector counts a batch once its write has returned, a moment after the commit.
  for (auto until = std::chrono::steady_clock::now() + 10s;;) {
    auto done = test::Fetch(port(), "GET", "/api/v1/lineage/status");
    ASSERT_TRUE(done);
    s = json::parse(done->body);
    if (s["projector"]["events"].get<int>() >= 30 || std::chrono::steady_clock::now() >= until) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(s["waiting"], 0);
  EXPECT_EQ(s["last_id"], last);
  EXPECT_EQ(s["projected_through"], last);
  EXPECT_GE(s["projector"]["events"].get<int>(), 30);
  EXPECT_EQ(s["projector"]["failed"], 0);
  EXPECT_EQ(Reader()->Counts()->runs, 30);
  auto metrics = test::Fetch(port(), "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("tidemark_openlineage_log_waiting 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("tidemark_openlineage_log_projected_through " +
                               std::to_string(last)),
            std::string::npos)
      << metrics->body;
}

}  // namespace
}  // namespace tidemark::ui
