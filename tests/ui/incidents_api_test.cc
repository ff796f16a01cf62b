#include "incidents_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tidemark/pipeline/incidents.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class IncidentsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = catalog::OpenStore({.url = "sqlite:" + (dir_.path() / "t.db").string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    routing_.channels = {{"ops", pipeline::ChannelKind::kSlack,
                          "https://hooks.slack.com/services/T/B/SECRET", "", 1000ms, ""}};
    routing_.default_channel = "ops";
    ASSERT_TRUE(AddIncidentRoutes(router_, *store_, clock_, routing_).ok());
    catalog::WriteBatch batch;
    model::Asset a;
    a.key = {"pg", "shop.orders"};
    a.name = "orders";
    batch.PutAsset(a);
    model::Anomaly x;
    x.id = "a1";
    x.asset = a.key;
    x.metric = "rows_affected";
    x.detector = "volume";
    x.ts = clock_.Now();
    x.severity = model::Severity::kError;
    x.explanation = "dropped";
    batch.PutAnomaly(x);
    ASSERT_TRUE(store_->Write(batch).ok());
    auto s = pipeline::UpdateIncidents(*store_, clock_, routing_, {});
    ASSERT_TRUE(s.ok() && s->opened_ids.size() == 1);
    id_ = s->opened_ids[0];
  }
  Response Call(std::string method, std::string target, std::string body = "") {
    auto request = ParseRequestTarget(std::move(method), std::move(target));
    EXPECT_TRUE(request.ok());
    request->body = std::move(body);
    return router_.Handle(*request);
  }

  test::TempDir dir_{"tidemark-incidents-api"};
  model::ManualClock clock_{model::ParseTimestamp("2026-03-01T00:00:00Z").value()};
  std::unique_ptr<catalog::Store> store_;
  pipeline::RoutingConfig routing_;
  Router router_;
  std::string id_;
};

TEST_F(IncidentsApiTest, ListAckResolve) {
  Response list = Call("GET", "/api/v1/incidents?state=open");
  ASSERT_EQ(list.status, 200) << list.body;
  auto j = json::parse(list.body);
  ASSERT_EQ(j["incidents"].size(), 1u);
  EXPECT_EQ(j["incidents"][0]["id"], id_);
  EXPECT_EQ(j["incidents"][0]["root"], "pg/shop.orders");

  Response ack = Call("POST", "/api/v1/incidents/" + id_ + "/ack", R"({"by":"jane"})");
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(json::parse(ack.body)["state"], "acknowledged");
  EXPECT_EQ(json::parse(ack.body)["properties"]["acknowledged_by"], "jane");

  Response resolve = Call("POST", "/api/v1/incidents/" + id_ + "/resolve");
  ASSERT_EQ(resolve.status, 200) << resolve.body;
  EXPECT_EQ(json::parse(resolve.body)["state"], "resolved");
  EXPECT_EQ(Call("POST", "/api/v1/incidents/" + id_ + "/resolve").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/incidents/inc-unknown/ack").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/incidents?state=bogus").status, 400);

  Response alerts = Call("GET", "/api/v1/alerts");
  ASSERT_EQ(alerts.status, 200);
  auto a = json::parse(alerts.body);
  std::vector<std::string> events;
  for (const auto& x : a["alerts"]) events.push_back(x["event"]);
  EXPECT_EQ(events, (std::vector<std::string>{"opened", "acknowledged", "resolved"}));
  // Channel names only: the webhook URL never leaves the config.
  EXPECT_EQ(alerts.body.find("SECRET"), std::string::npos);
  EXPECT_EQ(list.body.find("SECRET"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::ui
