#include "tidemark/ui/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using namespace std::chrono_literals;

// A real SQLite store whose Ping can be made to fail: fault injection by wrapping (STYLE.md §7).
// Forwards every Store method, so it grows with the interface.
class UnreachableWhenToldStore final : public catalog::Store {
 public:
  explicit UnreachableWhenToldStore(std::unique_ptr<catalog::Store> inner)
      : inner_(std::move(inner)) {}
  std::atomic<bool> down{false};

  std::string_view Kind() const override { return inner_->Kind(); }
  std::string Describe() const override { return inner_->Describe(); }
  model::Status Ping() override {
    if (down) return model::Status::Unavailable("database is down for the test");
    return inner_->Ping();
  }
  model::Result<int> SchemaVersion() override { return inner_->SchemaVersion(); }
  model::Result<catalog::WriteSummary> Write(const catalog::WriteBatch& batch) override {
    return inner_->Write(batch);
  }
  model::Status RebuildSearchIndex() override { return inner_->RebuildSearchIndex(); }
  model::Result<model::Asset> GetAsset(const model::AssetKey& key) override {
    return inner_->GetAsset(key);
  }
  model::Result<model::AssetKey> Resolve(std::string_view alias_or_key) override {
    return inner_->Resolve(alias_or_key);
  }
  model::Result<std::vector<model::Asset>> ListAssets(const catalog::AssetFilter& filter) override {
    return inner_->ListAssets(filter);
  }
  model::Result<std::vector<model::Column>> GetColumns(const model::AssetKey& key) override {
    return inner_->GetColumns(key);
  }
  model::Result<model::Owner> GetOwner(std::string_view owner_id) override {
    return inner_->GetOwner(owner_id);
  }
  model::Result<std::vector<std::pair<model::Owner, std::string>>> GetOwnersOf(
      const model::AssetKey& key) override {
    return inner_->GetOwnersOf(key);
  }
  model::Result<std::vector<model::AssetKey>> GetOwnedBy(std::string_view owner_id) override {
    return inner_->GetOwnedBy(owner_id);
  }
  model::Result<std::vector<model::LineageEdge>> GetEdges(const model::AssetKey& key,
                                                          catalog::Direction direction) override {
    return inner_->GetEdges(key, direction);
  }
  model::Result<model::Run> GetRun(std::string_view run_id) override {
    return inner_->GetRun(run_id);
  }
  model::Result<std::vector<model::NodeResult>> GetNodeResults(std::string_view run_id) override {
    return inner_->GetNodeResults(run_id);
  }
  model::Result<std::vector<model::NodeResult>> GetRecentResults(const model::AssetKey& key,
                                                                 size_t limit) override {
    return inner_->GetRecentResults(key, limit);
  }
  model::Result<model::Series> ReadSeries(const model::AssetKey& key, std::string_view metric,
                                          model::Timestamp from, model::Timestamp to) override {
    return inner_->ReadSeries(key, metric, from, to);
  }
  model::Result<std::vector<std::string>> ListMetrics(const model::AssetKey& key) override {
    return inner_->ListMetrics(key);
  }
  model::Result<std::vector<model::SchemaSnapshot>> GetSchemaHistory(
      const model::AssetKey& key) override {
    return inner_->GetSchemaHistory(key);
  }
  model::Result<std::vector<model::Anomaly>> ListAnomalies(
      const catalog::AnomalyFilter& filter) override {
    return inner_->ListAnomalies(filter);
  }
  model::Result<model::Incident> GetIncident(std::string_view id) override {
    return inner_->GetIncident(id);
  }
  model::Result<std::vector<model::Incident>> ListIncidents(
      std::optional<model::IncidentState> state, size_t limit) override {
    return inner_->ListIncidents(state, limit);
  }
  model::Result<std::vector<model::Alert>> ClaimAlerts(std::string_view worker, size_t limit,
                                                       model::Timestamp now,
                                                       std::chrono::seconds lease) override {
    return inner_->ClaimAlerts(worker, limit, now, lease);
  }
  model::Status MarkAlertDelivered(std::string_view alert_id, std::string_view worker,
                                   model::Timestamp now) override {
    return inner_->MarkAlertDelivered(alert_id, worker, now);
  }
  model::Status MarkAlertFailed(std::string_view alert_id, std::string_view worker,
                                std::string_view error, model::Timestamp retry_at,
                                bool dead) override {
    return inner_->MarkAlertFailed(alert_id, worker, error, retry_at, dead);
  }
  model::Result<std::vector<model::Alert>> ListAlerts(std::optional<model::AlertState> state,
                                                      size_t limit) override {
    return inner_->ListAlerts(state, limit);
  }
  model::Result<catalog::Checkpoint> GetCheckpoint(std::string_view scope,
                                                   std::string_view key) override {
    return inner_->GetCheckpoint(scope, key);
  }
  model::Result<std::vector<catalog::Checkpoint>> ListCheckpoints(std::string_view scope) override {
    return inner_->ListCheckpoints(scope);
  }
  model::Result<catalog::StoreCounts> Counts() override { return inner_->Counts(); }
  model::Result<std::vector<std::int64_t>> AppendLineageEvents(
      const std::vector<catalog::LineageEvent>& events) override {
    return inner_->AppendLineageEvents(events);
  }
  model::Result<std::vector<catalog::LineageEvent>> ReadLineageEvents(std::int64_t after_id,
                                                                      size_t limit) override {
    return inner_->ReadLineageEvents(after_id, limit);
  }
  model::Result<catalog::LineageLogStatus> GetLineageLogStatus() override {
    return inner_->GetLineageLogStatus();
  }
  model::Result<size_t> PruneLineageEvents(model::Timestamp received_before) override {
    return inner_->PruneLineageEvents(received_before);
  }
  model::Result<catalog::SearchResults> Search(const catalog::SearchQuery& q) override {
    return inner_->Search(q);
  }
  model::Result<std::vector<catalog::Suggestion>> Suggest(const catalog::SuggestQuery& q) override {
    return inner_->Suggest(q);
  }
  model::Result<catalog::LineageGraph> Lineage(const catalog::LineageQuery& q) override {
    return inner_->Lineage(q);
  }
  model::Result<catalog::ImpactReport> Impact(const model::AssetKey& key, size_t n) override {
    return inner_->Impact(key, n);
  }
  model::Result<std::vector<catalog::AssetHealth>> GetHealth(
      const std::vector<model::AssetKey>& keys) override {
    return inner_->GetHealth(keys);
  }
  model::Result<std::vector<catalog::OwnedAsset>> ListOwnedAssets(std::string_view id) override {
    return inner_->ListOwnedAssets(id);
  }

 private:
  std::unique_ptr<catalog::Store> inner_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = catalog::OpenStore({.url = "sqlite:" + (dir_.path() / "s.db").string()});
    ASSERT_TRUE(inner.ok()) << inner.status().ToString();
    store_ = std::make_unique<UnreachableWhenToldStore>(std::move(*inner));
    ServiceOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = 0;
    options.server.handle_signals = false;
    options.probe_interval = 20ms;
    auto service = Service::Create(*store_, options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }

  // Through the router, as the server would call it: no sockets needed for the endpoints.
  Response Get(std::string target) {
    auto request = ParseRequestTarget("GET", std::move(target));
    EXPECT_TRUE(request.ok());
    return service_->router().Handle(*request);
  }

  test::TempDir dir_{"tidemark-service-test"};
  std::unique_ptr<UnreachableWhenToldStore> store_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, HealthReportsTheStore) {
  Response response = Get("/health");
  EXPECT_EQ(response.status, 200);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["version"], "0.1.0");
  EXPECT_EQ(body["store"]["kind"], "sqlite");
  EXPECT_EQ(body["store"]["schema_version"], catalog::kSchemaVersion);
  EXPECT_EQ(body["store"]["reachable"], true);
  EXPECT_FALSE(body["store"].contains("error"));
  EXPECT_EQ(response.body.rfind(R"({"status":"ok",)", 0), 0u) << "status comes first";
}

TEST_F(ServiceTest, HealthIs503WhileTheStoreIsDown) {
  store_->down = true;
  Response response;
  for (int i = 0; i < 200 && response.status != 503; ++i) {  // the probe runs every 20 ms
    std::this_thread::sleep_for(5ms);
    response = Get("/health");
  }
  ASSERT_EQ(response.status, 503);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["store"]["reachable"], false);
  EXPECT_EQ(body["store"]["error"], "database is down for the test");

  store_->down = false;
  for (int i = 0; i < 200 && response.status != 200; ++i) {
    std::this_thread::sleep_for(5ms);
    response = Get("/health");
  }
  EXPECT_EQ(response.status, 200);
}

TEST_F(ServiceTest, MetricsEndpointServesTheExposition) {
  Get("/health");
  Response response = Get("/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(response.body.find("tidemark_build_info{version=\"0.1.0\"} 1\n"), std::string::npos);
  EXPECT_NE(response.body.find("tidemark_store_operations_total{op=\"ping\",result=\"ok\"}"),
            std::string::npos);
  EXPECT_NE(response.body.find("tidemark_http_requests_total{route=\"/health\",method=\"GET\","
                               "status=\"200\"} 1\n"),
            std::string::npos)
      << response.body;
}

TEST_F(ServiceTest, LaterModulesCanAddRoutes) {
  ASSERT_TRUE(service_->router()
                  .Add("GET", "/api/v1/ping", {.name = "ping", .scope = "read"},
                       [](const Request&) { return Response::Json(200, R"({"pong":true})"); })
                  .ok());
  EXPECT_EQ(Get("/api/v1/ping").status, 200);
  EXPECT_NE(service_->port(), 0);
}

}  // namespace
}  // namespace tidemark::ui
