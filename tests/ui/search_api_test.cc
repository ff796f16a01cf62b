// The search, lineage and ownership routes over real HTTP on loopback, against a SQLite store
// seeded through Write (ranking itself is checked on both stores in tests/catalog/search_test.cc).

#include "search_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tidemark/catalog/store.h"
#include "tidemark/ui/service.h"
#include "ui/http_client.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using model::AssetKey;
using nlohmann::json;

AssetKey Key(const std::string& name) { return AssetKey{"postgres://wh:5432", name}; }

// "%2F"-style escaping for a key in a query string or path.
std::string Escape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class SearchApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = catalog::OpenStore({.url = "sqlite:" + (dir_.path() / "s.db").string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    Seed();
    ServiceOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = 0;
    options.server.handle_signals = false;
    auto service = Service::Create(*store_, options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    ASSERT_TRUE(AddSearchRoutes(service_->router(), *store_).ok());
    thread_ = std::thread([this] { service_->Run(); });
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }

  void Seed() {
    catalog::WriteBatch b;
    b.PutOwner({"team:sales", model::OwnerKind::kTeam, "Sales", "s@x", "#sales", "{}"});
    for (std::string n : {"raw.orders", "marts.orders", "marts.stg_orders_items"}) {
      model::Asset a;
      a.key = Key("analytics." + n);
      a.kind = model::AssetKind::kTable;
      a.name = n.substr(n.find('.') + 1);
      a.description = "All the " + a.name + " of the shop.";
      a.source = "dbt";
      b.PutAsset(a);
    }
    model::Asset dash;
    dash.key = Key("looker.sales_dashboard");
    dash.kind = model::AssetKind::kExposure;
    dash.name = "sales_dashboard";
    b.PutAsset(dash);
    b.SetColumns(Key("analytics.marts.orders"),
                 {{"order_id", 1, "int", "", std::nullopt, {}, "{}"}});
    b.SetOwnerships(Key("analytics.marts.orders"), {{"team:sales", "owner"}});
    b.PutEdge({Key("analytics.raw.orders"), Key("analytics.marts.orders"), "", "", {}, "dbt", ""});
    b.PutEdge({Key("analytics.marts.orders"), Key("looker.sales_dashboard"), "", "", {}, "dbt", ""});
    auto r = store_->Write(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  test::HttpReply Get(const std::string& target) {
    auto reply = test::Fetch(service_->port(), "GET", target);
    EXPECT_TRUE(reply.has_value()) << target;
    return reply.value_or(test::HttpReply{});
  }

  test::TempDir dir_{"tidemark-search-api-test"};
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<Service> service_;
  std::thread thread_;
};

TEST_F(SearchApiTest, SearchReturnsRankedHitsWithFacetsAndWhy) {
  test::HttpReply r = Get("/api/v1/search?q=orders&limit=5");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_GE(body["hits"].size(), 3u);
  EXPECT_EQ(body["hits"][0]["name"], "orders");
  EXPECT_EQ(body["hits"][0]["matched"][0]["how"], "exact");
  EXPECT_EQ(body["hits"][2]["name"], "stg_orders_items");
  EXPECT_EQ(body["facets"]["kind"][0]["value"], "table");
  EXPECT_TRUE(body["total_exact"].get<bool>());

  r = Get("/api/v1/search?q=orders&owner=team:sales");
  body = json::parse(r.body);
  ASSERT_EQ(body["hits"].size(), 1u);
  EXPECT_EQ(body["hits"][0]["key"], "postgres://wh:5432/analytics.marts.orders");
  EXPECT_EQ(body["hits"][0]["owners"][0], "team:sales");
  EXPECT_EQ(body["hits"][0]["exposures"], 1);
}

// A filter without words lists what it keeps (the page links owners and tags this way).
TEST_F(SearchApiTest, FilterWithoutWordsListsWhatItKeeps) {
  // The names of the hits of `target` (which must answer 200), and their total.
  auto names = [this](const std::string& target) {
    test::HttpReply r = Get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    json body = json::parse(r.body, nullptr, false);
    std::vector<std::string> out;
    for (const json& hit : body.value("hits", json::array())) out.push_back(hit.value("name", ""));
    EXPECT_EQ(body.value("total", -1), static_cast<int>(out.size())) << target;
    return out;
  };
  EXPECT_EQ(names("/api/v1/search?owner=team:sales"), std::vector<std::string>{"orders"});
  EXPECT_EQ(names("/api/v1/search?q=&kind=exposure"),
            std::vector<std::string>{"sales_dashboard"});
}

TEST_F(SearchApiTest, HostileQueriesAre200Or400NeverA500) {
  for (std::string q : {"\"", "*", "NEAR(a b)", "-", ":", "a:b", "DROP TABLE assets;--",
                        "\xF0\x9F\x98\x80", "\"orders", "orders*", "-orders"}) {
    test::HttpReply r = Get("/api/v1/search?q=" + Escape(q));
    EXPECT_TRUE(r.status == 200 || r.status == 400) << q << " -> " << r.status << " " << r.body;
  }
  test::HttpReply big = Get("/api/v1/search?q=" + std::string(20 * 1024, 'x'));
  EXPECT_TRUE(big.status == 400 || big.status == 413 || big.status == 431) << big.status;
  EXPECT_EQ(Get("/api/v1/search?q=orders&limit=0").status, 400);
  EXPECT_EQ(Get("/api/v1/search?q=orders&limit=abc").status, 400);
  EXPECT_EQ(Get("/api/v1/search?q=").status, 400);
}

TEST_F(SearchApiTest, SuggestCompletesPrefixes) {
  test::HttpReply r = Get("/api/v1/search/suggest?q=stg_or");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["suggestions"].size(), 1u);
  EXPECT_EQ(body["suggestions"][0]["name"], "stg_orders_items");
}

TEST_F(SearchApiTest, LineageImpactAssetAndOwner) {
  std::string key = Escape("postgres://wh:5432/analytics.marts.orders");
  test::HttpReply r = Get("/api/v1/lineage?key=" + key + "&direction=both&depth=2");
  ASSERT_EQ(r.status, 200) << r.body;
  json g = json::parse(r.body);
  EXPECT_EQ(g["nodes"].size(), 3u);
  EXPECT_EQ(g["edges"].size(), 2u);
  EXPECT_FALSE(g["truncated"].get<bool>());
  EXPECT_EQ(Get("/api/v1/lineage?key=" + key + "&direction=sideways").status, 400);
  EXPECT_EQ(Get("/api/v1/lineage?key=" + key + "&depth=0").status, 400);
  EXPECT_EQ(Get("/api/v1/lineage?key=nope%2Fnothing").status, 404);

  r = Get("/api/v1/assets/" + Escape("postgres://wh:5432/analytics.raw.orders") + "/impact");
  ASSERT_EQ(r.status, 200) << r.body;
  json impact = json::parse(r.body);
  EXPECT_EQ(impact["downstream_count"], 2);
  EXPECT_EQ(impact["exposures"][0]["key"], "postgres://wh:5432/looker.sales_dashboard");
  EXPECT_EQ(impact["exposures"][0]["path"].size(), 2u);
  EXPECT_EQ(impact["owners"][0], "team:sales");

  r = Get("/api/v1/assets/" + key);
  ASSERT_EQ(r.status, 200) << r.body;
  json asset = json::parse(r.body);
  EXPECT_EQ(asset["name"], "orders");
  EXPECT_EQ(asset["columns"][0]["name"], "order_id");
  EXPECT_EQ(asset["owners"][0]["id"], "team:sales");
  EXPECT_EQ(asset["health"]["status"], "healthy");
  EXPECT_EQ(Get("/api/v1/assets/nope%2Fnothing").status, 404);

  r = Get("/api/v1/owners/team:sales");
  ASSERT_EQ(r.status, 200) << r.body;
  json owner = json::parse(r.body);
  EXPECT_EQ(owner["asset_count"], 1);
  EXPECT_EQ(owner["assets"][0]["name"], "orders");
  EXPECT_EQ(Get("/api/v1/owners/team:nobody").status, 404);
}

// SearchResultsJson writes its body directly; it must be the bytes the nlohmann DOM it
// replaced wrote, quirky values included (invalid UTF-8, controls, no health, a timestamp).
TEST(SearchResultsJsonTest, WritesWhatTheDomWrote) {
  using nlohmann::ordered_json;
  catalog::SearchResults results;
  results.total = 2;
  results.exact = false;
  catalog::SearchHit a;
  a.key = Key("analytics.marts.orders");
  a.kind = "table";
  a.name = "orders";
  a.full_name = "analytics.marts.orders";
  a.status = "active";
  a.source = "dbt";
  a.snippet = "All the \"orders\"\n\tof caf\xC3\xA9 and \xFF broken";
  a.highlights = {{8, 14}, {20, 24}};
  a.owners = {"team:sales", "alice"};
  a.tags = {"pii"};
  a.health.open_incidents = 2;
  a.health.last_anomaly_at = model::Timestamp(std::chrono::seconds(1765000000));
  a.health.last_anomaly = "row_count dropped";
  a.downstream = 3;
  a.exposures = 1;
  a.score = 101132;
  a.matched = {{"name", "orders", "exact"}, {"column", "order_id", "word"}};
  catalog::SearchHit b;
  b.key = Key("raw.x");
  b.score = -998868.5;
  results.hits = {a, b};
  results.facets = {{"kind", {{"table", 2}}}, {"owner", {}}, {"health", {{"healthy", 1}}}};
  results.notes = {"'ordres' also matched orders (one edit)"};

  auto health = [](const catalog::AssetHealth& h) {
    ordered_json j = {{"status", h.Label()}, {"open_incidents", h.open_incidents},
                      {"last_anomaly_at", nullptr}, {"last_anomaly", h.last_anomaly}};
    if (h.last_anomaly_at) j["last_anomaly_at"] = model::FormatTimestamp(*h.last_anomaly_at);
    return j;
  };
  ordered_json hits = ordered_json::array();
  for (const auto& h : results.hits) {
    ordered_json why = ordered_json::array();
    for (const auto& m : h.matched) {
      why.push_back({{"field", m.field}, {"value", m.value}, {"how", m.how}});
    }
    ordered_json marks = ordered_json::array();
    for (auto [b, e] : h.highlights) marks.push_back({b, e});
    hits.push_back({{"key", h.key.ToString()}, {"kind", h.kind}, {"name", h.name},
                    {"full_name", h.full_name}, {"status", h.status}, {"source", h.source},
                    {"snippet", h.snippet}, {"highlights", std::move(marks)},
                    {"owners", h.owners}, {"tags", h.tags}, {"health", health(h.health)},
                    {"downstream", h.downstream}, {"exposures", h.exposures},
                    {"score", h.score}, {"matched", std::move(why)}});
  }
  ordered_json facets = ordered_json::object();
  for (const auto& f : results.facets) {
    ordered_json counts = ordered_json::array();
    for (const auto& c : f.counts) counts.push_back({{"value", c.value}, {"count", c.count}});
    facets[f.name] = std::move(counts);
  }
  ordered_json dom = {{"total", results.total}, {"total_exact", results.exact},
                      {"hits", std::move(hits)}, {"facets", std::move(facets)},
                      {"notes", results.notes}};
  EXPECT_EQ(SearchResultsJson(results),
            dom.dump(-1, ' ', false, ordered_json::error_handler_t::replace));

  catalog::SearchResults empty;
  EXPECT_EQ(SearchResultsJson(empty),
            R"({"total":0,"total_exact":true,"hits":[],"facets":{},"notes":[]})");
}

}  // namespace
}  // namespace tidemark::ui
