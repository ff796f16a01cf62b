// The demo history against real stores (a SQLite file and PostgreSQL): it loads through the
// dbt collector, a second load changes nothing, the catalog reads like the stack it describes,
// and the detectors, run directly on the stored series, find each injected incident and
// little else.

#include "tidemark/pipeline/demo_data.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "catalog/test_stores.h"
#include "tidemark/collector/dbt.h"
#include "tidemark/detectors/detector.h"
#include "tidemark/detectors/freshness.h"
#include "tidemark/detectors/schema.h"
#include "tidemark/detectors/volume.h"

namespace tidemark::pipeline {
namespace {

using model::AssetKey;
using model::Timestamp;
using std::chrono::days;
using std::chrono::hours;

// A Sunday afternoon and a Wednesday morning: the weekend incident lands differently.
const Timestamp kSunday = *model::ParseTimestamp("2026-11-22T14:37:12Z");
const Timestamp kWednesday = *model::ParseTimestamp("2026-11-25T07:05:00Z");

// Every detector over every stored series of every asset, as the live service would have
// run them over the history (replay).
std::vector<model::Anomaly> DetectEverything(catalog::Store& store, Timestamp now) {
  std::vector<model::Anomaly> out;
  catalog::AssetFilter filter;
  filter.limit = 10000;
  auto assets = store.ListAssets(filter);
  EXPECT_TRUE(assets.ok());
  if (!assets.ok()) return out;
  const Timestamp from = now - days(kDemoHistoryDays + 2);
  for (const model::Asset& a : *assets) {
    auto metrics = store.ListMetrics(a.key);
    EXPECT_TRUE(metrics.ok());
    for (const std::string& metric : metrics.value_or(std::vector<std::string>{})) {
      auto series = store.ReadSeries(a.key, metric, from, now + hours(1));
      EXPECT_TRUE(series.ok()) << series.status().ToString();
      if (!series.ok()) continue;
      model::Result<std::vector<model::Anomaly>> found = std::vector<model::Anomaly>{};
      if (metric == model::kMetricUpdate) {
        found = detectors::ReplayFreshness(*series, now, detectors::FreshnessSettings{});
      } else if (metric == model::kMetricRowCount || metric == model::kMetricRowsAffected) {
        found = detectors::ReplayVolume(*series, detectors::DefaultVolumeSettings(metric));
      } else {
        continue;  // durations, bytes, dbt's own freshness lag: not part of the scenario
      }
      EXPECT_TRUE(found.ok()) << a.key.ToString() << " " << metric;
      for (model::Anomaly& x : found.value_or(std::vector<model::Anomaly>{})) {
        out.push_back(std::move(x));
      }
    }
    auto history = store.GetSchemaHistory(a.key);
    EXPECT_TRUE(history.ok());
    if (history.ok() && !history->empty()) {
      auto changes = detectors::DetectSchemaChanges(*history, detectors::SchemaSettings{});
      EXPECT_TRUE(changes.ok());
      for (model::Anomaly& x : changes.value_or(std::vector<model::Anomaly>{})) {
        out.push_back(std::move(x));
      }
    }
  }
  return out;
}

void ExpectIncidentsFound(catalog::Store& store, Timestamp now) {
  std::vector<model::Anomaly> found = DetectEverything(store, now);
  std::vector<DemoIncident> incidents = DemoIncidents(now);
  ASSERT_EQ(incidents.size(), 5u);
  for (const DemoIncident& inc : incidents) {
    if (inc.detector == "dbt") continue;  // checked in the run results
    SCOPED_TRACE(inc.name);
    size_t hits = 0;
    for (const model::Anomaly& a : found) {
      if (a.asset == inc.asset && a.detector == inc.detector &&
          (inc.metric.empty() || a.metric == inc.metric) && a.ts >= inc.from &&
          a.ts < inc.to) {
        ++hits;
      }
    }
    EXPECT_GE(hits, 1u) << inc.summary;
    std::printf("%s: %zu anomalies of %s on %s\n", inc.name.c_str(), hits, inc.detector.c_str(),
                inc.asset.name.c_str());
  }
  // Everything else: anomalies outside every incident's window (widened to the day after,
  // where downstream models and recoveries show it).
  std::vector<std::string> unexplained;
  for (const model::Anomaly& a : found) {
    bool explained = false;
    for (const DemoIncident& inc : incidents) {
      if (a.ts >= inc.from - hours(1) && a.ts < inc.to + days(2)) explained = true;
    }
    if (!explained) {
      unexplained.push_back(a.asset.name + " " + a.metric + " " + a.detector + " " +
                            model::FormatTimestamp(a.ts) + " " + a.explanation);
    }
  }
  std::printf("detectors: %zu anomalies, %zu outside the injected incidents\n", found.size(),
              unexplained.size());
  for (const std::string& u : unexplained) std::printf("  unexplained: %s\n", u.c_str());
  EXPECT_LE(unexplained.size(), 2u);
}


template <typename Factory>
class DemoDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kSunday);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }

  DemoLoadReport MustLoad(Timestamp now) {
    auto r = LoadDemoData(*store_, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : DemoLoadReport{};
  }

  catalog::StoreCounts Counts() {
    auto c = store_->Counts();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : catalog::StoreCounts{};
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(DemoDataTest, Backends, catalog::testing::FactoryNames);

TYPED_TEST(DemoDataTest, LoadsTheStackAndASecondLoadChangesNothing) {
  DemoLoadReport first = this->MustLoad(kSunday);
  EXPECT_EQ(first.anchor, *model::ParseTimestamp("2026-11-22T14:00:00Z"));
  EXPECT_EQ(first.dbt_ingests, static_cast<size_t>(kDemoHistoryDays + 2));
  EXPECT_EQ(first.dbt_unchanged, 0u);
  EXPECT_GT(first.points_written, 10000u);
  EXPECT_EQ(first.runs_written, static_cast<size_t>(2 * kDemoHistoryDays + 1));
  std::printf("first load: %.0f ms, %zu points\n", first.elapsed_ms, first.points_written);
  catalog::StoreCounts before = this->Counts();
  EXPECT_EQ(before.assets, 5 + 9 + 3);  // sources, models, exposures

  DemoLoadReport second = this->MustLoad(kSunday + std::chrono::minutes(20));
  EXPECT_EQ(second.anchor, first.anchor);
  EXPECT_EQ(second.dbt_unchanged, second.dbt_ingests);
  EXPECT_EQ(second.points_written, 0u);
  EXPECT_EQ(second.runs_written, 0u);
  EXPECT_EQ(second.snapshots_written, 0u);
  std::printf("second load: %.0f ms\n", second.elapsed_ms);
  catalog::StoreCounts after = this->Counts();
  EXPECT_EQ(after.assets, before.assets);
  EXPECT_EQ(after.columns, before.columns);
  EXPECT_EQ(after.edges, before.edges);
  EXPECT_EQ(after.runs, before.runs);
  EXPECT_EQ(after.node_results, before.node_results);
  EXPECT_EQ(after.metric_points, before.metric_points);
  EXPECT_EQ(after.schema_snapshots, before.schema_snapshots);

  // A day later the same store keeps its history rather than mixing in a shifted one.
  DemoLoadReport later = this->MustLoad(kSunday + std::chrono::hours(25));
  EXPECT_TRUE(later.stale);
  EXPECT_EQ(later.anchor, first.anchor);
  EXPECT_EQ(later.dbt_ingests, 0u);
  EXPECT_EQ(this->Counts().metric_points, before.metric_points);
}

TYPED_TEST(DemoDataTest, CatalogReadsLikeTheSalesStack) {
  this->MustLoad(kSunday);
  catalog::Store& store = *this->store_;
  // Lineage: sales reads the four marts; the dashboard reads sales.
  auto up = store.GetEdges(DemoKey("sales"), catalog::Direction::kUpstream);
  ASSERT_TRUE(up.ok());
  std::set<std::string> ups;
  for (const auto& e : *up) ups.insert(e.upstream.name);
  EXPECT_EQ(ups, (std::set<std::string>{"analytics.marts.fct_purchases", "analytics.marts.dim_products",
                                        "analytics.marts.fct_exchange_rates",
                                        "analytics.marts.dim_customers"}));
  auto down = store.GetEdges(DemoKey("sales"), catalog::Direction::kDownstream);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->size(), 2u);  // Sales overview, Customer 360
  // Owners: the source's meta.owner, the model's group.
  auto owners = store.GetOwnersOf(DemoKey("hubspot_contacts"));
  ASSERT_TRUE(owners.ok());
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ((*owners)[0].first.id, "user:growth-ops@acme.example");
  auto team = store.GetOwnersOf(DemoKey("sales"));
  ASSERT_TRUE(team.ok());
  ASSERT_EQ(team->size(), 1u);
  EXPECT_EQ((*team)[0].first.id, "team:sales_analytics");
  auto asset = store.GetAsset(DemoKey("purchases"));
  ASSERT_TRUE(asset.ok());
  EXPECT_EQ(asset->kind, model::AssetKind::kSource);
  auto props = nlohmann::json::parse(asset->properties);
  EXPECT_EQ(props["loader"], "kafka-connect");
  EXPECT_EQ(props["freshness"]["warn_after"]["count"], 2);
  EXPECT_NE(std::find(asset->tags.begin(), asset->tags.end(), "streaming"), asset->tags.end());

  // The schema change: products lost `category`; dim_products kept it.
  auto history = store.GetSchemaHistory(DemoKey("products"));
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(history->front().columns.size(), 8u);
  EXPECT_EQ(history->back().columns.size(), 7u);
  auto dim_history = store.GetSchemaHistory(DemoKey("dim_products"));
  ASSERT_TRUE(dim_history.ok());
  EXPECT_EQ(dim_history->size(), 1u);

  // The newest build: dim_products failed, sales skipped, the dim_customers email test failed.
  auto dim = store.GetRecentResults(DemoKey("dim_products"), 3);
  ASSERT_TRUE(dim.ok());
  std::map<std::string, std::string> newest;
  std::string run_id;
  for (const auto& r : *dim) {
    if (r.node_kind == "model") {
      run_id = r.run_id;
      break;
    }
  }
  ASSERT_FALSE(run_id.empty());
  auto run = store.GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, model::RunState::kFail);
  auto results = store.GetNodeResults(run_id);
  ASSERT_TRUE(results.ok());
  for (const auto& r : *results) newest[r.node_id] = r.status;
  EXPECT_EQ(newest["model.acme_sales.dim_products"], "error");
  EXPECT_EQ(newest["model.acme_sales.sales"], "skipped");
  EXPECT_EQ(newest["model.acme_sales.fct_purchases"], "success");
  size_t failed_tests = 0;
  for (const auto& r : *results) {
    if (r.node_kind == "test" && r.status == "fail") {
      ++failed_tests;
      EXPECT_EQ(r.asset, DemoKey("dim_customers"));
      EXPECT_EQ(r.failures, 14);
    }
  }
  EXPECT_EQ(failed_tests, 1u);
}

TYPED_TEST(DemoDataTest, DetectorsFindEachInjectedIncidentAndLittleElse) {
  this->MustLoad(kSunday);
  ExpectIncidentsFound(*this->store_, kSunday);
}

TEST(DemoData, DetectorsFindTheIncidentsMidweekToo) {
  catalog::testing::SqliteFileFactory factory;
  model::ManualClock clock(kWednesday);
  auto store = factory.Open(&clock);
  ASSERT_TRUE(store.ok());
  auto loaded = LoadDemoData(**store, kWednesday);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<DemoIncident> incidents = DemoIncidents(kWednesday);
  // The weekend is the last complete one before the newest build day.
  EXPECT_EQ(model::FormatTimestamp(incidents[2].from), "2026-11-21T00:00:00Z");
  ExpectIncidentsFound(**store, kWednesday);
}

TEST(DemoData, TargetFilesIngestThroughTheRequestBodyPath) {
  std::vector<std::pair<std::string, std::string>> files = DemoDbtTarget(kSunday);
  ASSERT_EQ(files.size(), 4u);
  std::string body = "{";
  const char* names[] = {"manifest", "run_results", "sources", "catalog"};
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) body += ",";
    body += std::string("\"") + names[i] + "\":" + files[i].second;
  }
  body += "}";
  auto artifacts = collector::DbtArtifactsFromRequestBody(body);
  ASSERT_TRUE(artifacts.ok()) << artifacts.status().ToString();
  catalog::testing::SqliteFileFactory factory;
  model::ManualClock clock(kSunday);
  auto store = factory.Open(&clock);
  ASSERT_TRUE(store.ok());
  collector::DbtOptions options;
  options.clock = &clock;
  auto report = collector::IngestDbt(**store, *artifacts, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->assets, 17u);
  EXPECT_EQ(report->manifest.schema_version, "manifest/v12");
  EXPECT_EQ(report->run_results.schema_version, "run-results/v6");
  EXPECT_EQ(report->sources.schema_version, "sources/v3");
  EXPECT_EQ(report->catalog.schema_version, "catalog/v1");
  EXPECT_EQ(report->warnings_total, 0u) << report->ToJson();
}

TEST(DemoData, OpenLineageEventsTellTheSameDays) {
  std::string ndjson = DemoOpenLineageEvents(kSunday);
  std::istringstream in(ndjson);
  std::string line;
  size_t events = 0, fails = 0;
  std::map<std::string, std::string> last_products_fields;
  std::set<std::string> run_ids;
  while (std::getline(in, line)) {
    auto e = nlohmann::json::parse(line);
    ++events;
    for (const char* k : {"eventType", "eventTime", "run", "job", "producer", "schemaURL"}) {
      ASSERT_TRUE(e.contains(k)) << k << " in " << line;
    }
    EXPECT_TRUE(model::ParseTimestamp(e["eventTime"].get<std::string>()));
    EXPECT_EQ(e["run"]["runId"].get<std::string>().size(), 36u);
    run_ids.insert(e["run"]["runId"].get<std::string>());
    if (e["eventType"] == "FAIL") {
      ++fails;
      if (e["job"]["name"] == "acme_sales_daily.dbt_build") {
        EXPECT_NE(e["run"]["facets"]["errorMessage"]["message"].get<std::string>().find(
                      "STG_DLT__PRODUCTS.CATEGORY"),
                  std::string::npos);
        EXPECT_EQ(e["run"]["facets"]["parent"]["job"]["name"], "acme_sales_daily");
      }
    }
    if (e["job"]["name"] == "acme_sales_daily.dlt_products" && e["eventType"] == "COMPLETE") {
      std::string fields;
      for (const auto& f : e["outputs"][0]["facets"]["schema"]["fields"]) {
        fields += f["name"].get<std::string>() + ",";
      }
      last_products_fields[e["eventTime"].get<std::string>().substr(0, 10)] = fields;
    }
  }
  // Per day: the DAG run and four tasks, each a START and an end.
  EXPECT_EQ(events, static_cast<size_t>(kDemoHistoryDays * 10));
  EXPECT_EQ(run_ids.size(), static_cast<size_t>(kDemoHistoryDays * 5));
  EXPECT_EQ(fails, 2u);  // the last day's dbt_build and its DAG run
  ASSERT_EQ(last_products_fields.size(), static_cast<size_t>(kDemoHistoryDays));
  EXPECT_NE(last_products_fields.begin()->second.find("category"), std::string::npos);
  EXPECT_EQ(last_products_fields.rbegin()->second.find("category"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::pipeline
