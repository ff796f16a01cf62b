// GET /api/v1/assets/{key}/metrics and /schema (the asset page's charts and schema timeline)
// and the columns' tests in GET /api/v1/assets/{key}, over real HTTP on loopback, against
// SQLite and PostgreSQL stores holding the same data.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catalog/test_stores.h"
#include "search_api.h"
#include "ui/http_client.h"
#include "ui/running_service.h"

namespace tidemark::ui {
namespace {

using model::AssetKey;
using nlohmann::json;

const AssetKey kOrders{"postgres://wh:5432", "analytics.marts.orders"};
// A key that itself ends like a part: it must still resolve as a whole.
const AssetKey kTricky{"postgres://wh:5432", "analytics/metrics"};
const model::Timestamp kT0 = *model::ParseTimestamp("2026-11-01T00:00:00Z");

model::Timestamp Day(int d) { return kT0 + std::chrono::hours(24 * d); }

std::string Escaped(const AssetKey& key) {
  std::string out;
  for (char c : key.ToString()) {
    if (c == '/') out += "%2F"; else if (c == ':') out += "%3A"; else out += c;
  }
  return out;
}

template <typename Factory>
class AssetPartsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    auto store = factory_.Open(nullptr);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    Seed();
    server_ = std::make_unique<test::RunningService>(*store_, [this](Router& router) {
      ASSERT_TRUE(AddSearchRoutes(router, *store_).ok());
    });
  }
  void TearDown() override {
    server_.reset();
    store_.reset();
    factory_.Cleanup();
  }

  void Seed() {
    catalog::WriteBatch b;
    for (const AssetKey& key : {kOrders, kTricky}) {
      model::Asset a;
      a.key = key;
      a.kind = model::AssetKind::kTable;
      a.name = key.name;
      a.source = "dbt";
      b.PutAsset(a);
    }
    b.SetColumns(kOrders,
                 {{"order_id", 1, "int", "", false, {}, R"({"tests":[{"kind":"not_null"},)"
                                                         R"({"kind":"custom","test_name":"dbt_utils.positive"}]})"},
                  {"amount", 2, "numeric", "", true, {}, "{}"}});
    for (int d = 0; d < 20; ++d) {
      b.AppendMetricPoint({kOrders, "row_count", Day(d), 1000.0 + d});
      b.AppendMetricPoint({kOrders, "bytes", Day(d), 5e6});
    }
    model::Anomaly drop;
    drop.id = "a-drop";
    drop.asset = kOrders;
    drop.metric = "row_count";
    drop.detector = "volume";
    drop.ts = Day(15);
    drop.value = 1015;
    drop.expected_low = 1100;
    drop.expected_high = 1300;
    drop.direction = "drop";
    drop.explanation = "row_count dropped";
    drop.detected_at = Day(15);
    model::Anomaly other = drop;
    other.id = "a-bytes";
    other.metric = "bytes";
    b.PutAnomaly(drop);
    b.PutAnomaly(other);
    b.PutSchemaSnapshot({kOrders, Day(0), "dbt-catalog", {{"order_id", 1, "int", "", false, {}, "{}"}}});
    b.PutSchemaSnapshot({kOrders, Day(5), "dbt-catalog",
                         {{"order_id", 1, "bigint", "", false, {}, "{}"},
                          {"amount", 2, "numeric", "", true, {}, "{}"}}});
    auto written = store_->Write(b);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }

  json Get(const std::string& target, int expect = 200) {
    auto reply = test::Fetch(server_->port(), "GET", target);
    EXPECT_TRUE(reply.has_value()) << target;
    if (!reply) return json();
    EXPECT_EQ(reply->status, expect) << target << ": " << reply->body;
    return json::parse(reply->body, nullptr, false);
  }

  Factory factory_;
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<test::RunningService> server_;
};

using Stores =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(AssetPartsApiTest, Stores);

TYPED_TEST(AssetPartsApiTest, MetricsGivesThePointsInOrderAndThatMetricsAnomalies) {
  json j = this->Get("/api/v1/assets/" + Escaped(kOrders) + "/metrics?metric=row_count");
  EXPECT_EQ(j["key"], kOrders.ToString());
  EXPECT_EQ(j["metric"], "row_count");
  ASSERT_EQ(j["points"].size(), 20u);
  EXPECT_EQ(j["points"][0][0], "2026-11-01T00:00:00Z");
  EXPECT_EQ(j["points"][0][1], 1000.0);
  EXPECT_EQ(j["points"][19][1], 1019.0);
  EXPECT_EQ(j["truncated"], false);
  ASSERT_EQ(j["anomalies"].size(), 1u) << "only row_count's anomaly";
  EXPECT_EQ(j["anomalies"][0]["id"], "a-drop");
  EXPECT_EQ(j["anomalies"][0]["expected_low"], 1100.0);
  EXPECT_EQ(j["anomalies"][0]["expected_high"], 1300.0);
  EXPECT_EQ(j["anomalies"][0]["ts"], "2026-11-16T00:00:00Z");
}

TYPED_TEST(AssetPartsApiTest, MetricsKeepsTheLastLimitPointsFromSince) {
  json last = this->Get("/api/v1/assets/" + Escaped(kOrders) + "/metrics?metric=row_count&limit=5");
  ASSERT_EQ(last["points"].size(), 5u);
  EXPECT_EQ(last["points"][0][1], 1015.0);
  EXPECT_EQ(last["truncated"], true);
  json since = this->Get("/api/v1/assets/" + Escaped(kOrders) +
                         "/metrics?metric=row_count&since=2026-11-18T00:00:00Z");
  ASSERT_EQ(since["points"].size(), 3u);
  EXPECT_EQ(since["anomalies"].size(), 0u) << "the anomaly is before since";
  json none = this->Get("/api/v1/assets/" + Escaped(kOrders) + "/metrics?metric=nothing");
  EXPECT_EQ(none["points"].size(), 0u);
}

TYPED_TEST(AssetPartsApiTest, MetricsRejectsBadParametersByName) {
  std::string base = "/api/v1/assets/" + Escaped(kOrders) + "/metrics";
  EXPECT_EQ(this->Get(base, 400)["error"]["where"], "metric");
  EXPECT_EQ(this->Get(base + "?metric=row_count&since=yesterday", 400)["error"]["where"], "since");
  EXPECT_EQ(this->Get(base + "?metric=row_count&limit=0", 400)["error"]["where"], "limit");
  this->Get("/api/v1/assets/postgres%3A%2F%2Fwh%3A5432%2Fnope/metrics?metric=row_count", 404);
}

TYPED_TEST(AssetPartsApiTest, SchemaListsEverySnapshotWithItsColumns) {
  json j = this->Get("/api/v1/assets/" + Escaped(kOrders) + "/schema");
  ASSERT_EQ(j["snapshots"].size(), 2u);
  EXPECT_EQ(j["snapshots"][0]["observed_at"], "2026-11-01T00:00:00Z");
  EXPECT_EQ(j["snapshots"][0]["columns"].size(), 1u);
  EXPECT_EQ(j["snapshots"][1]["columns"][0]["type"], "bigint");
  EXPECT_EQ(j["snapshots"][1]["columns"][1]["name"], "amount");
  EXPECT_EQ(j["snapshots"][1]["columns"][1]["nullable"], true);
  EXPECT_EQ(j["snapshots"][1]["source"], "dbt-catalog");
}

TYPED_TEST(AssetPartsApiTest, AKeyEndingLikeAPartStillResolvesWhole) {
  json j = this->Get("/api/v1/assets/" + kTricky.ToString());
  EXPECT_EQ(j["key"], kTricky.ToString());
  EXPECT_EQ(j["name"], "analytics/metrics");
}

TYPED_TEST(AssetPartsApiTest, AssetColumnsListTheirTests) {
  json j = this->Get("/api/v1/assets/" + Escaped(kOrders));
  ASSERT_EQ(j["columns"].size(), 2u);
  EXPECT_EQ(j["columns"][0]["tests"], json({"not_null", "dbt_utils.positive"}));
  EXPECT_EQ(j["columns"][1]["tests"], json::array());
}

}  // namespace
}  // namespace tidemark::ui
