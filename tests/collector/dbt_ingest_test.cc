// IngestDbt against real stores: every artifact of ../shared/fixtures/dbt with counts worked
// out here from the JSON (nlohmann, independently of the collector's own reading), the
// hand-written project of tests/data/dbt/shop for owners, tags, lineage through ephemeral
// models, columns, runs and freshness, and malformed inputs rejected whole.
//
// Runs on SQLite (file and memory) and on PostgreSQL (TIDEMARK_TEST_PG_URL; see
// tests/catalog/test_stores.h for when its absence fails or skips).

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "catalog/test_stores.h"
#include "collector/fixtures.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

namespace fs = std::filesystem;
using catalog::AssetFilter;
using model::AssetKey;
using model::AssetKind;
using nlohmann::json;
using tidemark::testing::FixtureFiles;
using tidemark::testing::ReadFile;

const model::Timestamp kT0 = *model::ParseTimestamp("2026-11-02T00:00:00Z");

fs::path Jaffle() { return tidemark::testing::SharedFixtures() / "dbt" / "jaffle_shop"; }
fs::path Shop() { return tidemark::testing::TestData() / "dbt" / "shop"; }
fs::path Malformed() { return tidemark::testing::TestData() / "dbt" / "malformed"; }

DbtDocument Doc(const fs::path& path) { return {path.string(), ReadFile(path)}; }
DbtDocument Doc(std::string name, const json& j) { return {std::move(name), j.dump(2)}; }

AssetKey Pg(std::string name) { return {"postgres", std::move(name)}; }

// ---- counts worked out from the JSON, independently of the collector -----------------------

struct ExpectedManifest {
  std::map<std::string, size_t> by_kind;
  size_t assets = 0;
  size_t columns = 0;
  size_t edges = 0;
  std::set<std::string> asset_ids;                   // every node that names an asset
  std::map<std::string, std::string> key_of;         // asset node -> its dataset key
  std::map<std::string, std::string> first_of_key;   // key -> the node that defines it
  std::map<std::string, std::string> resource_type;  // every enabled node
};

// The dataset a node names: relation_name without quotes, else database.schema.table.
std::string DatasetKey(const json& node, const std::string& id, const std::string& type) {
  if (type != "model" && type != "seed" && type != "snapshot" && type != "source") return id;
  std::string rel = node.value("relation_name", json()).is_string()
                        ? node["relation_name"].get<std::string>()
                        : "";
  std::string out;
  for (char c : rel) {
    if (c != '"' && c != '`') out += c;
  }
  if (!out.empty()) return out;
  auto str = [&](const char* k) {
    return node.contains(k) && node[k].is_string() ? node[k].get<std::string>() : "";
  };
  std::string table = type == "source"
                          ? (str("identifier").empty() ? str("name") : str("identifier"))
                          : (str("alias").empty() ? str("name") : str("alias"));
  for (const std::string& part : {str("database"), str("schema"), table}) {
    if (part.empty()) continue;
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

bool Enabled(const json& node) {
  auto config = node.find("config");
  if (config == node.end() || !config->is_object()) return true;
  auto enabled = config->find("enabled");
  return enabled == config->end() || !enabled->is_boolean() || enabled->get<bool>();
}

std::string Materialized(const json& node) {
  auto config = node.find("config");
  if (config == node.end() || !config->is_object()) return "";
  auto m = config->find("materialized");
  return m != config->end() && m->is_string() ? m->get<std::string>() : "";
}

ExpectedManifest Expect(const json& manifest) {
  ExpectedManifest e;
  std::map<std::string, const json*> nodes;
  std::set<std::string> ephemeral;
  for (const char* section : {"nodes", "sources", "exposures", "metrics", "semantic_models",
                              "saved_queries", "unit_tests"}) {
    auto it = manifest.find(section);
    if (it == manifest.end() || !it->is_object()) continue;
    for (const auto& [id, node] : it->items()) {
      if (!Enabled(node)) continue;
      std::string type = node.value("resource_type", "");
      e.resource_type[id] = type;
      std::string kind;
      if (type == "model") {
        std::string m = Materialized(node);
        if (m == "ephemeral") {
          ephemeral.insert(id);
          nodes[id] = &node;
          continue;
        }
        kind = m == "view" || m == "materialized_view" ? "view" : "table";
      } else if (type == "seed" || type == "snapshot") {
        kind = "table";
      } else if (type == "source") {
        kind = "source";
      } else if (type == "exposure") {
        kind = "exposure";
      } else if (type == "metric" || type == "semantic_model" || type == "saved_query") {
        kind = "metric";
      } else if (type == "analysis") {
        kind = "analysis";
      } else {
        continue;
      }
      e.asset_ids.insert(id);
      nodes[id] = &node;
      std::string key = DatasetKey(node, id, type);
      e.key_of[id] = key;
      if (!e.first_of_key.emplace(key, id).second) continue;  // one dataset, another name
      ++e.by_kind[kind];
      ++e.assets;
      if (node.contains("columns") && node["columns"].is_object()) {
        e.columns += node["columns"].size();
      }
    }
  }
  // Lineage: parents that are assets, through any chain of ephemeral models.
  std::function<void(const json&, std::set<std::string>&, std::set<std::string>&)> parents =
      [&](const json& node, std::set<std::string>& out, std::set<std::string>& visited) {
        if (!node.contains("depends_on") || !node["depends_on"].is_object()) return;
        for (const auto& dep : node["depends_on"].value("nodes", json::array())) {
          std::string id = dep.get<std::string>();
          if (e.asset_ids.count(id)) {
            out.insert(id);
          } else if (ephemeral.count(id) && visited.insert(id).second) {
            parents(*nodes[id], out, visited);
          }
        }
      };
  for (const auto& [key, id] : e.first_of_key) {
    std::set<std::string> out, visited, keys;
    parents(*nodes[id], out, visited);
    for (const std::string& up : out) keys.insert(e.key_of[up]);
    keys.erase(key);
    e.edges += keys.size();
  }
  return e;
}

// ---- the suite ------------------------------------------------------------------------------

template <typename Factory>
class DbtIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kT0);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  void Reopen() {
    store_.reset();
    factory_.Cleanup();
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  DbtOptions Options() {
    DbtOptions o;
    o.clock = clock_.get();
    return o;
  }

  DbtIngestReport MustIngest(const DbtArtifacts& a, DbtOptions options) {
    auto r = IngestDbt(*store_, a, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : DbtIngestReport{};
  }
  DbtIngestReport MustIngest(const DbtArtifacts& a) { return MustIngest(a, Options()); }

  catalog::StoreCounts Counts() {
    auto c = store_->Counts();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : catalog::StoreCounts{};
  }

  size_t CountKind(AssetKind kind) {
    AssetFilter f;
    f.kind = kind;
    f.limit = 100000;
    auto list = store_->ListAssets(f);
    EXPECT_TRUE(list.ok());
    return list.ok() ? list->size() : 0;
  }

  model::Asset MustGet(const AssetKey& key) {
    auto a = store_->GetAsset(key);
    EXPECT_TRUE(a.ok()) << key.ToString() << ": " << a.status().ToString();
    return a.ok() ? *a : model::Asset{};
  }

  std::set<std::string> Upstream(const AssetKey& key) {
    std::set<std::string> out;
    auto edges = store_->GetEdges(key, catalog::Direction::kUpstream);
    EXPECT_TRUE(edges.ok());
    if (edges.ok()) {
      for (const auto& e : *edges) out.insert(e.upstream.ToString());
    }
    return out;
  }

  std::map<std::string, std::string> OwnersOf(const AssetKey& key) {
    std::map<std::string, std::string> out;
    auto owners = store_->GetOwnersOf(key);
    EXPECT_TRUE(owners.ok());
    if (owners.ok()) {
      for (const auto& [owner, role] : *owners) out[owner.id] = role;
    }
    return out;
  }

  DbtArtifacts ShopManifest() {
    DbtArtifacts a;
    a.manifest = Doc(Shop() / "manifest.json");
    return a;
  }

  // Expects `artifacts` to be rejected with InvalidArgument, `where` containing each of
  // `where_parts`, and nothing stored.
  void ExpectRejected(const DbtArtifacts& artifacts, std::vector<std::string> where_parts,
                      std::string message_part = "", DbtOptions options = {}) {
    if (!options.clock) options.clock = clock_.get();
    auto before = Counts();
    auto checkpoints = store_->ListCheckpoints("dbt:manifest");
    auto r = IngestDbt(*store_, artifacts, options);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    for (const std::string& part : where_parts) {
      EXPECT_NE(r.status().where().find(part), std::string::npos)
          << "where '" << r.status().where() << "' lacks '" << part << "'";
    }
    EXPECT_NE(r.status().message().find(message_part), std::string::npos) << r.status().message();
    auto after = Counts();
    EXPECT_EQ(after.assets, before.assets);
    EXPECT_EQ(after.columns, before.columns);
    EXPECT_EQ(after.runs, before.runs);
    EXPECT_EQ(after.metric_points, before.metric_points);
    auto checkpoints_after = store_->ListCheckpoints("dbt:manifest");
    ASSERT_TRUE(checkpoints.ok() && checkpoints_after.ok());
    EXPECT_EQ(*checkpoints, *checkpoints_after);
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::SqliteMemoryFactory,
                     catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(DbtIngestTest, Backends, catalog::testing::FactoryNames);

// ---- real artifacts of every schema version -------------------------------------------------

TYPED_TEST(DbtIngestTest, EveryManifestFixtureIngestsWithIndependentCounts) {
  for (const fs::path& path : FixtureFiles(Jaffle(), "manifest__")) {
    SCOPED_TRACE(path.filename().string());
    this->Reopen();
    json j = json::parse(ReadFile(path));
    ExpectedManifest e = Expect(j);
    DbtArtifacts a;
    a.manifest = Doc(path);
    DbtIngestReport r = this->MustIngest(a);
    EXPECT_EQ(r.assets, e.assets);
    EXPECT_EQ(r.columns, e.columns);
    EXPECT_EQ(r.lineage_edges, e.edges);
    std::map<std::string, size_t> by_kind(r.assets_by_kind.begin(), r.assets_by_kind.end());
    EXPECT_EQ(by_kind, e.by_kind);
    EXPECT_EQ(r.manifest.schema_version,
              "manifest/v" + path.filename().string().substr(
                                 11, path.filename().string().find("__", 11) - 11));
    EXPECT_EQ(r.project, "jaffle_shop");  // from project_name, or project_id's md5 before v10
    EXPECT_EQ(r.ns, j["metadata"]["adapter_type"].get<std::string>());

    auto c = this->Counts();
    EXPECT_EQ(static_cast<size_t>(c.assets), e.assets);
    EXPECT_EQ(static_cast<size_t>(c.columns), e.columns);
    EXPECT_EQ(static_cast<size_t>(c.edges), e.edges);
    EXPECT_EQ(this->CountKind(AssetKind::kView), e.by_kind["view"]);
    EXPECT_EQ(this->CountKind(AssetKind::kTable), e.by_kind["table"]);
    EXPECT_EQ(this->CountKind(AssetKind::kSource), e.by_kind["source"]);
    EXPECT_EQ(this->CountKind(AssetKind::kMetric), e.by_kind["metric"]);
    for (const std::string& id : e.asset_ids) {
      auto key = this->store_->Resolve(id);
      EXPECT_TRUE(key.ok()) << id << " is not an alias";
      if (key.ok()) {
        EXPECT_EQ(key->name, e.key_of[id]);
      }
    }
  }
}

// The manifest in `manifests` sharing most unique_ids with `ids`: the one the artifact was
// written with (worked out here, not assumed from file names).
fs::path PairedManifest(const std::vector<std::string>& ids) {
  fs::path best;
  size_t best_hits = 0;
  for (const fs::path& m : FixtureFiles(Jaffle(), "manifest__")) {
    json j = json::parse(ReadFile(m));
    size_t hits = 0;
    for (const std::string& id : ids) {
      hits += j["nodes"].contains(id) || (j.contains("sources") && j["sources"].contains(id));
    }
    if (hits > best_hits) best = m, best_hits = hits;
  }
  return best;
}

TYPED_TEST(DbtIngestTest, EveryRunResultsFixtureIngestsWithItsManifest) {
  for (const fs::path& path : FixtureFiles(Jaffle(), "run_results__")) {
    SCOPED_TRACE(path.filename().string());
    this->Reopen();
    json rr = json::parse(ReadFile(path));
    std::vector<std::string> ids;
    for (const auto& r : rr["results"]) ids.push_back(r["unique_id"]);
    fs::path manifest_path = PairedManifest(ids);
    ASSERT_FALSE(manifest_path.empty());
    ExpectedManifest m = Expect(json::parse(ReadFile(manifest_path)));

    size_t unknown = 0, points = 0;
    bool failed = false;
    for (const auto& r : rr["results"]) {
      std::string id = r["unique_id"];
      std::string status = r["status"].is_string() ? r["status"].get<std::string>() : "";
      failed = failed || status == "error" || status == "fail" || status == "runtime error";
      if (!m.resource_type.count(id)) {
        unknown += id.rfind("operation.", 0) != 0;
        continue;
      }
      std::string type = m.resource_type[id];
      if ((type == "model" || type == "seed" || type == "snapshot") && m.asset_ids.count(id) &&
          status == "success") {
        points += r.contains("execution_time") && r["execution_time"].is_number();
        const json& resp = r.value("adapter_response", json::object());
        points += resp.is_object() && resp.contains("rows_affected") &&
                  resp["rows_affected"].is_number() && resp["rows_affected"].get<double>() >= 0;
      }
    }
    DbtArtifacts a;
    a.manifest = Doc(manifest_path);
    a.run_results = Doc(path);
    DbtIngestReport r = this->MustIngest(a);
    EXPECT_EQ(r.runs, 1u);
    EXPECT_EQ(r.node_results, rr["results"].size());
    EXPECT_EQ(r.metric_points, points);
    EXPECT_EQ(r.warnings_total, unknown);

    const std::string run_id = rr["metadata"]["invocation_id"];
    auto run = this->store_->GetRun(run_id);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_EQ(run->state, failed ? model::RunState::kFail : model::RunState::kComplete);
    EXPECT_EQ(run->source, "dbt");
    auto results = this->store_->GetNodeResults(run_id);
    ASSERT_TRUE(results.ok());
    EXPECT_EQ(results->size(), rr["results"].size());
    EXPECT_EQ(static_cast<size_t>(this->Counts().metric_points), points);
  }
}

TYPED_TEST(DbtIngestTest, EveryCatalogFixtureMergesColumnsWithItsManifest) {
  for (const fs::path& path : FixtureFiles(Jaffle(), "catalog__")) {
    SCOPED_TRACE(path.filename().string());
    this->Reopen();
    json cat = json::parse(ReadFile(path));
    std::vector<std::string> ids;
    for (const char* s : {"nodes", "sources"}) {
      for (const auto& [id, _] : cat[s].items()) ids.push_back(id);
    }
    fs::path manifest_path = PairedManifest(ids);
    json man = json::parse(ReadFile(manifest_path));
    ExpectedManifest m = Expect(man);

    // Columns: declared ones, plus observed ones whose name (any case) is not declared.
    size_t columns = m.columns, snapshots = 0, points = 0;
    std::set<std::string> observed_keys;
    for (const char* s : {"nodes", "sources"}) {
      for (const auto& [id, entry] : cat[s].items()) {
        if (!m.asset_ids.count(id)) continue;
        const std::string key = m.key_of[id];
        if (!observed_keys.insert(key).second) continue;  // one observation per table
        ++snapshots;
        std::set<std::string> declared;
        const std::string& owner = m.first_of_key[key];
        const json& node = man[owner.rfind("source.", 0) == 0 ? "sources" : "nodes"][owner];
        const json declared_columns = node.value("columns", json::object());
        for (const auto& [name, _] : declared_columns.items()) {
          std::string lower = name;
          for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
          declared.insert(lower);
        }
        for (const auto& [name, _] : entry["columns"].items()) {
          std::string lower = name;
          for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
          columns += !declared.count(lower);
        }
        for (const auto& [sid, stat] : entry["stats"].items()) {
          if (sid == "has_stats" || !stat.value("include", true)) continue;
          points += stat["value"].is_number();
        }
      }
    }
    DbtArtifacts a;
    a.manifest = Doc(manifest_path);
    a.catalog = Doc(path);
    DbtIngestReport r = this->MustIngest(a);
    EXPECT_EQ(r.schema_snapshots, snapshots);
    EXPECT_EQ(r.metric_points, points);
    EXPECT_EQ(static_cast<size_t>(this->Counts().columns), columns);
    EXPECT_EQ(static_cast<size_t>(this->Counts().schema_snapshots), snapshots);
  }
}

// ---- the hand-written project -------------------------------------------------------------

TYPED_TEST(DbtIngestTest, ShopAssetsKindsAndKeys) {
  DbtIngestReport r = this->MustIngest(this->ShopManifest());
  EXPECT_EQ(r.project, "shop");
  EXPECT_EQ(r.ns, "postgres");
  std::map<std::string, size_t> by_kind(r.assets_by_kind.begin(), r.assets_by_kind.end());
  std::map<std::string, size_t> expected = {{"analysis", 1}, {"exposure", 1}, {"metric", 2},
                                            {"source", 2},   {"table", 2},    {"view", 2}};
  EXPECT_EQ(by_kind, expected);
  EXPECT_EQ(r.assets, 10u);

  EXPECT_EQ(this->MustGet(Pg("analytics.marts.fct_orders")).kind, AssetKind::kTable);
  EXPECT_EQ(this->MustGet(Pg("analytics.staging.stg_orders")).kind, AssetKind::kView);
  // No relation_name: database.schema.alias; a source's identifier names its table.
  EXPECT_EQ(this->MustGet(Pg("analytics.staging.stg_customers")).kind, AssetKind::kView);
  EXPECT_EQ(this->MustGet(Pg("raw.public.customers_v2")).kind, AssetKind::kSource);
  // Not datasets: keyed by unique_id in the project's namespace.
  model::Asset exposure = this->MustGet(AssetKey{"dbt://shop", "exposure.shop.revenue_dashboard"});
  EXPECT_EQ(exposure.kind, AssetKind::kExposure);
  EXPECT_EQ(exposure.name, "Revenue <img src=x onerror=alert(1)>");  // stored as written
  EXPECT_EQ(this->MustGet(AssetKey{"dbt://shop", "metric.shop.revenue"}).kind, AssetKind::kMetric);
  EXPECT_EQ(this->MustGet(AssetKey{"dbt://shop", "analysis.shop.adhoc_revenue"}).kind,
            AssetKind::kAnalysis);

  // Ephemeral and disabled nodes are not assets; unique_ids are aliases of the keys.
  EXPECT_TRUE(this->store_->Resolve("model.shop.int_orders_enriched").status().IsNotFound());
  EXPECT_TRUE(this->store_->Resolve("model.shop.old_orders").status().IsNotFound());
  auto key = this->store_->Resolve("model.shop.fct_orders");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, Pg("analytics.marts.fct_orders"));

  model::Asset fct = this->MustGet(Pg("analytics.marts.fct_orders"));
  EXPECT_EQ(fct.source, "dbt");
  EXPECT_EQ(fct.database, "analytics");
  EXPECT_EQ(fct.schema, "marts");
  EXPECT_EQ(fct.status, model::AssetStatus::kActive);
  EXPECT_EQ(fct.description, "Orders with customers. <script>alert('x')</script>");
  json p = json::parse(fct.properties);
  EXPECT_EQ(p["unique_id"], "model.shop.fct_orders");
  EXPECT_EQ(p["materialized"], "incremental");
  EXPECT_EQ(p["group"], "finance");
  EXPECT_EQ(p["access"], "public");
  EXPECT_EQ(p["contract_enforced"], true);
  EXPECT_EQ(p["meta"]["alert_channel"], "#finance-data");
  std::map<std::string, std::string> tests;
  for (const auto& t : p["tests"]) tests[t["unique_id"]] = t["kind"];
  std::map<std::string, std::string> expected_tests = {
      {"test.shop.relationships_fct_orders_customer_id.0a0b0c", "relationships"},
      {"test.shop.dbt_utils_at_least_one_fct_orders.1f2f3f", "custom"},
      {"test.shop.assert_positive_amounts", "custom"}};
  EXPECT_EQ(tests, expected_tests);

  json source = json::parse(this->MustGet(Pg("raw.public.orders")).properties);
  EXPECT_EQ(source["loaded_at_field"], "_loaded_at");
  EXPECT_EQ(source["freshness"]["warn_after"]["count"], 12);
  EXPECT_FALSE(json::parse(this->MustGet(Pg("raw.public.customers_v2")).properties)
                   .contains("freshness"));  // dbt's empty rule is no rule
}

TYPED_TEST(DbtIngestTest, ShopOwnersTagsAndColumns) {
  DbtIngestReport r = this->MustIngest(this->ShopManifest());
  using Roles = std::map<std::string, std::string>;
  EXPECT_EQ(this->OwnersOf(Pg("analytics.staging.stg_orders")),
            (Roles{{"user:jane@shop.com", "owner"}}));
  EXPECT_EQ(
      this->OwnersOf(Pg("analytics.marts.fct_orders")),
      (Roles{{"team:finance", "group"}, {"user:Carol", "owner"}, {"user:bob@shop.com", "owner"}}));
  EXPECT_EQ(this->OwnersOf(AssetKey{"dbt://shop", "exposure.shop.revenue_dashboard"}),
            (Roles{{"user:bi@shop.com", "owner"}, {"user:dana@shop.com", "owner"}}));
  EXPECT_EQ(this->OwnersOf(Pg("raw.public.orders")), (Roles{{"user:platform@shop.com", "owner"}}));
  auto team = this->store_->GetOwner("team:finance");
  ASSERT_TRUE(team.ok());
  EXPECT_EQ(team->kind, model::OwnerKind::kTeam);
  EXPECT_EQ(team->email, "finance@shop.com");
  EXPECT_EQ(json::parse(team->properties)["owner_name"], "Finance Team");
  auto jane = this->store_->GetOwner("user:jane@shop.com");
  ASSERT_TRUE(jane.ok());
  EXPECT_EQ(jane->email, "Jane@Shop.com");
  auto dana = this->store_->GetOwner("user:dana@shop.com");
  ASSERT_TRUE(dana.ok());
  EXPECT_EQ(dana->name, "Dana");
  EXPECT_EQ(r.owners, 7u);

  EXPECT_EQ(this->MustGet(Pg("analytics.staging.stg_orders")).tags,
            (std::vector<std::string>{"hourly", "staging"}));
  EXPECT_EQ(this->MustGet(Pg("analytics.marts.fct_orders")).tags,
            (std::vector<std::string>{"daily", "marts"}));

  auto cols = this->store_->GetColumns(Pg("analytics.staging.stg_orders"));
  ASSERT_TRUE(cols.ok());
  ASSERT_EQ(cols->size(), 2u);
  EXPECT_EQ((*cols)[0].name, "order_id");
  EXPECT_EQ((*cols)[0].position, 1);
  EXPECT_EQ((*cols)[0].data_type, "integer");
  EXPECT_EQ((*cols)[0].tags, std::vector<std::string>{"pk"});
  std::set<std::string> column_tests;
  const json order_id = json::parse((*cols)[0].properties);
  for (const auto& t : order_id["tests"]) column_tests.insert(t["kind"]);
  EXPECT_EQ(column_tests, (std::set<std::string>{"not_null", "unique"}));
  EXPECT_EQ((*cols)[1].name, "amount");
  EXPECT_EQ(json::parse((*cols)[1].properties)["meta"]["unit"], "USD");
}

TYPED_TEST(DbtIngestTest, ShopLineageRunsThroughEphemeralModels) {
  DbtIngestReport r = this->MustIngest(this->ShopManifest());
  EXPECT_EQ(r.lineage_edges, 8u);
  EXPECT_EQ(this->Upstream(Pg("analytics.marts.fct_orders")),
            (std::set<std::string>{"postgres/analytics.staging.stg_customers",
                                   "postgres/analytics.staging.stg_orders"}));
  EXPECT_EQ(this->Upstream(Pg("analytics.staging.stg_orders")),
            std::set<std::string>{"postgres/raw.public.orders"});
  EXPECT_EQ(this->Upstream(AssetKey{"dbt://shop", "exposure.shop.revenue_dashboard"}),
            std::set<std::string>{"postgres/analytics.marts.fct_orders"});
  EXPECT_EQ(this->Upstream(AssetKey{"dbt://shop", "metric.shop.revenue"}),
            std::set<std::string>{"dbt://shop/semantic_model.shop.orders"});
  EXPECT_EQ(static_cast<size_t>(this->Counts().edges), 8u);
  EXPECT_EQ(r.warnings_total, 0u);
}

TYPED_TEST(DbtIngestTest, SameArtifactsTwiceChangeNothing) {
  DbtArtifacts a = this->ShopManifest();
  a.run_results = Doc(Shop() / "run_results.json");
  a.sources = Doc(Shop() / "sources_v3.json");
  a.catalog = Doc(Shop() / "catalog.json");
  DbtIngestReport first = this->MustIngest(a);
  EXPECT_FALSE(first.manifest.unchanged);
  auto before = this->Counts();

  this->clock_->Advance(std::chrono::hours(1));
  DbtIngestReport second = this->MustIngest(a);
  for (const auto* art :
       {&second.manifest, &second.run_results, &second.sources, &second.catalog}) {
    EXPECT_TRUE(art->present);
    EXPECT_TRUE(art->unchanged);
  }
  EXPECT_EQ(second.assets, 0u);
  EXPECT_EQ(second.write.assets_written, 0u);
  EXPECT_EQ(second.write.columns_written, 0u);
  EXPECT_EQ(second.write.points_written, 0u);
  EXPECT_EQ(second.write.node_results_written, 0u);
  auto after = this->Counts();
  EXPECT_EQ(after.assets, before.assets);
  EXPECT_EQ(after.columns, before.columns);
  EXPECT_EQ(after.edges, before.edges);
  EXPECT_EQ(after.metric_points, before.metric_points);
  EXPECT_EQ(after.node_results, before.node_results);
  EXPECT_EQ(after.schema_snapshots, before.schema_snapshots);
  EXPECT_EQ(this->MustGet(Pg("analytics.marts.fct_orders")).updated_at, kT0);

  // Forced, everything is sent again and the store still finds nothing new.
  DbtOptions force = this->Options();
  force.force = true;
  DbtIngestReport forced = this->MustIngest(a, force);
  EXPECT_EQ(forced.assets, 10u);
  EXPECT_EQ(forced.write.assets_written, 0u);
  EXPECT_EQ(forced.write.assets_unchanged, 10u);
  EXPECT_EQ(forced.write.points_written, 0u);
  EXPECT_EQ(forced.write.snapshots_written, 0u);
  EXPECT_EQ(forced.write.runs_written, 0u);
  auto forced_after = this->Counts();
  EXPECT_EQ(forced_after.assets, before.assets);
  EXPECT_EQ(forced_after.columns, before.columns);
  EXPECT_EQ(forced_after.edges, before.edges);
  EXPECT_EQ(forced_after.metric_points, before.metric_points);
}

TYPED_TEST(DbtIngestTest, ChangedManifestUpdatesChangedAssetsAndRemovesGoneOnes) {
  this->MustIngest(this->ShopManifest());
  json m = json::parse(ReadFile(Shop() / "manifest.json"));
  m["metadata"]["generated_at"] = "2026-11-02T06:00:00Z";  // a new run of dbt
  m["nodes"]["model.shop.stg_orders"]["description"] = "Orders, cleaned.";
  m["nodes"]["model.shop.stg_orders"]["config"]["tags"] = json::array();
  m["nodes"]["model.shop.stg_orders"]["tags"] = json::array();
  m["nodes"].erase("model.shop.stg_customers");
  m["nodes"]["model.shop.int_orders_enriched"]["depends_on"]["nodes"] = {"model.shop.stg_orders"};
  m["exposures"] = json::object();

  this->clock_->Advance(std::chrono::hours(1));
  DbtArtifacts a;
  a.manifest = Doc("manifest.json", m);
  DbtIngestReport r = this->MustIngest(a);
  EXPECT_FALSE(r.manifest.unchanged);
  EXPECT_EQ(r.assets_removed, 2u);  // stg_customers, the exposure
  EXPECT_EQ(r.write.assets_removed, 2u);
  // stg_orders (description, tags) and fct_orders (its lineage) changed; the rest did not.
  EXPECT_EQ(r.assets, 2u);
  EXPECT_EQ(r.assets_unchanged, 6u);

  EXPECT_EQ(this->MustGet(Pg("analytics.staging.stg_customers")).status,
            model::AssetStatus::kRemoved);
  EXPECT_EQ(this->MustGet(AssetKey{"dbt://shop", "exposure.shop.revenue_dashboard"}).status,
            model::AssetStatus::kRemoved);
  model::Asset stg = this->MustGet(Pg("analytics.staging.stg_orders"));
  EXPECT_EQ(stg.description, "Orders, cleaned.");
  EXPECT_TRUE(stg.tags.empty());
  EXPECT_EQ(this->Upstream(Pg("analytics.marts.fct_orders")),
            std::set<std::string>{"postgres/analytics.staging.stg_orders"});
  EXPECT_EQ(this->MustGet(Pg("raw.public.orders")).updated_at, kT0);  // untouched

  // Back to the first manifest: the removed assets return.
  DbtIngestReport back = this->MustIngest(this->ShopManifest());
  EXPECT_EQ(back.assets_removed, 0u);
  EXPECT_EQ(this->MustGet(Pg("analytics.staging.stg_customers")).status,
            model::AssetStatus::kActive);
}

TYPED_TEST(DbtIngestTest, RunResultsBecomeARunNodeResultsAndPoints) {
  DbtArtifacts a = this->ShopManifest();
  a.run_results = Doc(Shop() / "run_results.json");
  DbtIngestReport r = this->MustIngest(a);
  EXPECT_EQ(r.runs, 1u);
  EXPECT_EQ(r.node_results, 6u);
  EXPECT_EQ(r.metric_points, 2u);  // stg_orders: duration and rows; fct_orders failed
  ASSERT_EQ(r.warnings_total, 1u);
  EXPECT_NE(r.warnings[0].message.find("model.shop.ghost"), std::string::npos);
  EXPECT_NE(r.warnings[0].where.find("/results/5"), std::string::npos);

  const std::string id = "22222222-2222-4222-8222-222222222222";
  auto run = this->store_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, model::RunState::kFail);
  EXPECT_NE(run->error_message.find("model.shop.fct_orders"), std::string::npos);
  EXPECT_EQ(run->started_at, model::ParseTimestamp("2026-11-01T06:00:01Z"));
  EXPECT_EQ(run->ended_at, model::ParseTimestamp("2026-11-01T06:00:07Z"));
  json props = json::parse(run->properties);
  EXPECT_EQ(props["command"], "build");
  EXPECT_EQ(props["dbt_version"], "1.9.1");
  EXPECT_FALSE(props["args"].contains("vars"));  // may hold credentials
  EXPECT_EQ(run->properties.find("secret"), std::string::npos);

  auto results = this->store_->GetNodeResults(id);
  ASSERT_TRUE(results.ok());
  std::map<std::string, model::NodeResult> by_id;
  for (const auto& n : *results) by_id[n.node_id] = n;
  const model::NodeResult& stg = by_id["model.shop.stg_orders"];
  EXPECT_EQ(stg.asset, Pg("analytics.staging.stg_orders"));
  EXPECT_EQ(stg.node_kind, "model");
  EXPECT_EQ(stg.rows_affected, 120);
  EXPECT_EQ(stg.started_at, model::ParseTimestamp("2026-11-01T06:00:02Z"));  // execute phase
  EXPECT_EQ(stg.thread, "Thread-1");
  const model::NodeResult& rel = by_id["test.shop.relationships_fct_orders_customer_id.0a0b0c"];
  EXPECT_EQ(rel.node_kind, "test");
  EXPECT_EQ(rel.asset, Pg("analytics.marts.fct_orders"));  // the tested model
  EXPECT_EQ(rel.failures, 2);
  EXPECT_EQ(rel.status, "fail");
  EXPECT_TRUE(by_id["operation.shop.shop-on-run-end-0"].asset.empty());
  EXPECT_TRUE(by_id["model.shop.ghost"].asset.empty());

  auto series = this->store_->ReadSeries(Pg("analytics.staging.stg_orders"), "duration_s",
                                         model::Timestamp{}, kT0);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->values.size(), 1u);
  EXPECT_DOUBLE_EQ(series->values[0], 4.5);
  EXPECT_EQ(series->ts[0], *model::ParseTimestamp("2026-11-01T06:00:05.5Z"));
}

TYPED_TEST(DbtIngestTest, RunResultsAloneResolveThroughStoredAliases) {
  this->MustIngest(this->ShopManifest());
  DbtArtifacts a;
  a.run_results = Doc(Shop() / "run_results.json");
  DbtIngestReport r = this->MustIngest(a);
  EXPECT_EQ(r.node_results, 6u);
  EXPECT_EQ(r.metric_points, 2u);
  // Without the manifest the tests cannot be tied to their models: warned, not failed.
  EXPECT_EQ(r.warnings_total, 3u);  // two tests and the ghost model
  auto results = this->store_->GetNodeResults("22222222-2222-4222-8222-222222222222");
  ASSERT_TRUE(results.ok());
  for (const auto& n : *results) {
    if (n.node_id == "model.shop.stg_orders") {
      EXPECT_EQ(n.asset, Pg("analytics.staging.stg_orders"));
    }
  }
}

TYPED_TEST(DbtIngestTest, SourcesFreshnessOfEveryVersion) {
  this->MustIngest(this->ShopManifest());
  for (int v = 1; v <= 3; ++v) {
    SCOPED_TRACE(v);
    DbtArtifacts a;
    a.sources = Doc(Shop() / ("sources_v" + std::to_string(v) + ".json"));
    DbtIngestReport r = this->MustIngest(a);
    EXPECT_EQ(r.sources.schema_version, "sources/v" + std::to_string(v));
    EXPECT_EQ(r.runs, 1u);
    EXPECT_EQ(r.node_results, 2u);
    EXPECT_EQ(r.warnings_total, 0u);
    auto run = this->store_->GetRun("3333333" + std::to_string(v) + "-3333-4333-8333-333333333333");
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->state, model::RunState::kFail);  // customers: runtime error
    auto results = this->store_->GetNodeResults(run->id);
    ASSERT_TRUE(results.ok());
    ASSERT_EQ(results->size(), 2u);
    EXPECT_EQ((*results)[0].node_id, "source.shop.raw.customers");
    EXPECT_EQ((*results)[0].status, "runtime error");
    EXPECT_EQ((*results)[0].message, "column _loaded_at does not exist");
    EXPECT_EQ((*results)[0].asset, Pg("raw.public.customers_v2"));
    EXPECT_EQ((*results)[1].node_kind, "source");
  }
  // The same snapshot three times: one point per metric.
  auto lag =
      this->store_->ReadSeries(Pg("raw.public.orders"), "freshness_lag_s", model::Timestamp{}, kT0);
  ASSERT_TRUE(lag.ok());
  ASSERT_EQ(lag->values.size(), 1u);
  EXPECT_DOUBLE_EQ(lag->values[0], 5400);
  auto loaded =
      this->store_->ReadSeries(Pg("raw.public.orders"), "last_modified", model::Timestamp{}, kT0);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->values.size(), 1u);
  EXPECT_DOUBLE_EQ(
      loaded->values[0],
      static_cast<double>(model::ToMicros(*model::ParseTimestamp("2026-11-01T04:00:00Z"))) / 1e6);
  EXPECT_EQ(loaded->ts[0], *model::ParseTimestamp("2026-11-01T05:30:00Z"));
}

TYPED_TEST(DbtIngestTest, CatalogTypesMergeWithDeclaredColumnsAcrossCalls) {
  this->MustIngest(this->ShopManifest());
  DbtArtifacts a;
  a.catalog = Doc(Shop() / "catalog.json");
  DbtIngestReport r = this->MustIngest(a);
  EXPECT_EQ(r.schema_snapshots, 2u);
  EXPECT_EQ(r.metric_points,
            5u);  // row_count, bytes, last_modified, stat:clustering_depth; num_rows
  ASSERT_EQ(r.warnings_total, 1u);
  EXPECT_NE(r.warnings[0].where.find("model.shop.unknown_table"), std::string::npos);

  auto check = [&] {
    auto cols = this->store_->GetColumns(Pg("analytics.staging.stg_orders"));
    ASSERT_TRUE(cols.ok());
    ASSERT_EQ(cols->size(), 3u);
    EXPECT_EQ((*cols)[0].name, "ORDER_ID");  // as the warehouse spells it
    EXPECT_EQ((*cols)[0].data_type, "INTEGER");
    EXPECT_EQ((*cols)[0].description, "The order's key.");
    EXPECT_EQ((*cols)[0].tags, std::vector<std::string>{"pk"});
    EXPECT_EQ((*cols)[1].name, "AMOUNT");
    EXPECT_EQ((*cols)[1].data_type, "NUMBER(18,2)");
    EXPECT_EQ((*cols)[1].description, "Order total in dollars.");
    json p = json::parse((*cols)[1].properties);
    EXPECT_EQ(p["comment"], "Stored in cents");
    EXPECT_EQ(p["meta"]["unit"], "USD");
    EXPECT_EQ((*cols)[2].name, "_LOADED_AT");
    EXPECT_EQ((*cols)[2].position, 3);
    EXPECT_EQ(json::parse((*cols)[2].properties)["declared"], false);
  };
  check();

  auto rows = this->store_->ReadSeries(Pg("analytics.staging.stg_orders"), "row_count",
                                       model::Timestamp{}, kT0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->values.size(), 1u);
  EXPECT_DOUBLE_EQ(rows->values[0], 1234);  // a numeric string, as some adapters write
  auto history = this->store_->GetSchemaHistory(Pg("analytics.staging.stg_orders"));
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].source, "dbt-catalog");
  EXPECT_EQ((*history)[0].columns.size(), 3u);

  // A changed manifest alone keeps the observed types of the earlier catalog.
  json m = json::parse(ReadFile(Shop() / "manifest.json"));
  m["nodes"]["model.shop.stg_orders"]["description"] = "Orders, again.";
  DbtArtifacts again;
  again.manifest = Doc("manifest.json", m);
  this->MustIngest(again);
  check();
}

// ---- rejected inputs ------------------------------------------------------------------------

TYPED_TEST(DbtIngestTest, NotJsonIsRejectedWithItsLocation) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "not_json.json");
  this->ExpectRejected(a, {"not_json.json", "line 1, column 2"}, "not valid JSON");
}

TYPED_TEST(DbtIngestTest, TruncatedManifestIsRejected) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "truncated_manifest.json");
  this->ExpectRejected(a, {"truncated_manifest.json", "line"}, "truncated");
}

TYPED_TEST(DbtIngestTest, ManifestWithoutNodesIsRejected) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "no_nodes_manifest.json");
  this->ExpectRejected(a, {"no_nodes_manifest.json", "/nodes"}, "no \"nodes\"");
}

TYPED_TEST(DbtIngestTest, WrongTypeWhereMeaningDependsOnItIsRejectedWithPathAndLine) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "columns_not_object_manifest.json");
  this->ExpectRejected(
      a, {"columns_not_object_manifest.json", "line 65", "/nodes/model.shop.fct_orders/columns"},
      "expected an object");
}

TYPED_TEST(DbtIngestTest, BadColumnReadWhenMappedIsRejectedWithPathAndLine) {
  json m = json::parse(ReadFile(Shop() / "manifest.json"));
  m["nodes"]["model.shop.stg_orders"]["columns"]["amount"] = 5;
  m["nodes"]["model.shop.stg_orders"]["columns"]["order_id"]["tags"] = {"pk", 7};
  DbtArtifacts a;
  a.manifest = Doc("edited_manifest.json", m);
  this->ExpectRejected(a, {"edited_manifest.json, line ", "/nodes/model.shop.stg_orders/columns/"},
                       "expected a");
}

TYPED_TEST(DbtIngestTest, SyntaxErrorInAPartNotUsedIsStillRejected) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "bad_syntax_in_macros_manifest.json");
  this->ExpectRejected(a, {"bad_syntax_in_macros_manifest.json", "line 180"}, "not valid JSON");
}

TYPED_TEST(DbtIngestTest, OneBadArtifactRejectsTheWholeCall) {
  DbtArtifacts a;
  a.manifest = Doc(Malformed() / "columns_not_object_manifest.json");
  a.run_results = Doc(Shop() / "run_results.json");
  a.sources = Doc(Shop() / "sources_v3.json");
  this->ExpectRejected(a, {"columns_not_object_manifest.json"});
  EXPECT_TRUE(this->store_->ListCheckpoints("dbt:run_results")->empty());

  DbtArtifacts b = this->ShopManifest();
  b.catalog = Doc(
      "catalog.json",
      json{{"metadata", {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/catalog/v1.json"}}},
           {"nodes", {{"model.shop.stg_orders", {{"columns", 7}}}}}});
  this->ExpectRejected(b, {"catalog.json", "/nodes/model.shop.stg_orders/columns"});
}

TYPED_TEST(DbtIngestTest, AnArtifactInTheWrongSlotIsRejected) {
  DbtArtifacts a;
  a.manifest = Doc(Shop() / "run_results.json");
  this->ExpectRejected(a, {"run_results.json", "/metadata/dbt_schema_version"},
                       "expected a dbt manifest artifact, got run-results/v6");
}

TYPED_TEST(DbtIngestTest, RunResultsForAnotherInvocationThanClaimedAreRejected) {
  DbtArtifacts a = this->ShopManifest();
  a.run_results = Doc(Shop() / "run_results.json");
  DbtOptions o = this->Options();
  o.expected_invocation_id = "99999999-9999-4999-8999-999999999999";
  this->ExpectRejected(a, {"run_results.json", "/metadata/invocation_id"},
                       "22222222-2222-4222-8222-222222222222", o);

  o.expected_invocation_id = "22222222-2222-4222-8222-222222222222";
  auto r = IngestDbt(*this->store_, a, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TYPED_TEST(DbtIngestTest, EveryPrefixOfAnArtifactIsRejectedWithoutCrashing) {
  this->MustIngest(this->ShopManifest());
  const std::string text = ReadFile(Shop() / "sources_v3.json");
  for (size_t n = 0; n + 1 < text.size(); n += 7) {
    DbtArtifacts a;
    a.sources = {"sources.json", text.substr(0, n)};
    auto r = IngestDbt(*this->store_, a, this->Options());
    // A prefix ending in whitespace after the closing brace is the whole document.
    if (text.find_first_not_of(" \n", n) == std::string::npos) continue;
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes was accepted";
  }
  EXPECT_TRUE(this->store_->ListCheckpoints("dbt:sources")->empty());
}

// Real projects put surprising types where the schemas promise others. Every value of every
// shop artifact is replaced in turn by a value of each other JSON type: the ingest either
// takes the document or rejects it as InvalidArgument naming the file and a JSON path; it
// never crashes, and never fails another way. (One store for all: what is accepted piles up.)
TEST(DbtIngestRobustnessTest, AnyValueOfAnyTypeAnywhereIsTakenOrRejectedWithItsPath) {
  auto store = catalog::OpenStore({.url = "sqlite::memory:"});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  model::ManualClock clock(kT0);
  DbtOptions options;
  options.clock = &clock;
  const std::vector<json> replacements = {nullptr, 7, "x", json::array(), json::object()};
  size_t accepted = 0, rejected = 0;
  for (const char* name : {"manifest.json", "run_results.json", "catalog.json", "sources_v3.json"}) {
    const json original = json::parse(ReadFile(Shop() / name));
    const json flat = original.flatten();  // leaves only; containers are reached below
    std::set<std::string> pointers;
    for (const auto& [leaf, value] : flat.items()) {
      // The leaf and each container above it (not the root: that one is covered elsewhere).
      for (std::string p = leaf; !p.empty(); p = p.substr(0, p.rfind('/'))) pointers.insert(p);
    }
    for (const std::string& pointer : pointers) {
      const json::json_pointer at(pointer);
      for (const json& replacement : replacements) {
        if (original.at(at).type() == replacement.type()) continue;
        json mutated = original;
        mutated[at] = replacement;
        DbtArtifacts a;
        const std::string file = std::string("mutated/") + name;
        DbtDocument doc{file, mutated.dump()};
        if (std::string_view(name) == "manifest.json") {
          a.manifest = doc;
        } else {
          a.manifest = Doc(Shop() / "manifest.json");
          (std::string_view(name) == "run_results.json" ? a.run_results
           : std::string_view(name) == "catalog.json"   ? a.catalog
                                                        : a.sources) = doc;
        }
        auto r = IngestDbt(**store, a, options);
        if (r.ok()) {
          ++accepted;
          continue;
        }
        ++rejected;
        EXPECT_TRUE(r.status().IsInvalidArgument())
            << pointer << " = " << replacement.dump() << ": " << r.status().ToString();
        EXPECT_NE(r.status().where().find("mutated/"), std::string::npos)
            << pointer << " = " << replacement.dump() << ": " << r.status().ToString();
      }
    }
  }
  // Both outcomes happen: lenient about shape, strict about meaning.
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace tidemark::collector
