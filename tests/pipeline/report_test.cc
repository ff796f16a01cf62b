// The nightly report on known stores: the demo history plus anomalies and incidents written
// here (as the detection job would), on SQLite and PostgreSQL. Checks each part of the
// report's content, the three renderings, empty stores and windows, and escaping; and writes
// the demo's HTML report under the build directory for the browser test to load.

#include "tidemark/pipeline/report.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "catalog/test_stores.h"
#include "tidemark/detectors/detector.h"
#include "tidemark/pipeline/demo_data.h"

namespace tidemark::pipeline {
namespace {

using model::AssetKey;
using model::Timestamp;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

const Timestamp kNow = *model::ParseTimestamp("2026-11-22T14:37:12Z");

model::Anomaly MakeAnomaly(const AssetKey& asset, std::string metric, std::string detector,
                           Timestamp ts, double value, double lo, double hi,
                           model::Severity severity, std::string incident_id = "") {
  model::Anomaly a;
  a.asset = asset;
  a.metric = std::move(metric);
  a.detector = std::move(detector);
  a.ts = ts;
  a.id = detectors::AnomalyId(asset, a.metric, a.detector, ts);
  a.value = value;
  a.expected_low = lo;
  a.expected_high = hi;
  a.score = hi > 0 ? value / hi : 0;
  a.direction = value > hi ? "spike" : "drop";
  a.severity = severity;
  a.train_start = ts - days(28);
  a.train_end = ts;
  a.train_size = 28;
  a.seasonality = "none";
  a.explanation = a.metric + " " + std::to_string(value) + " outside [" + std::to_string(lo) +
                  ", " + std::to_string(hi) + "]";
  a.detected_at = ts + minutes(5);
  a.incident_id = std::move(incident_id);
  return a;
}

// What the detection job would have stored for the demo's incidents.
catalog::WriteBatch Detections(Timestamp now) {
  std::vector<DemoIncident> inc = DemoIncidents(now);
  catalog::WriteBatch b;
  model::Incident stall;
  stall.id = "inc-hubspot-stall";
  stall.root = DemoKey("hubspot_contacts");
  stall.severity = model::Severity::kError;
  stall.title = "hubspot_contacts is late";
  stall.opened_at = inc[0].from + hours(2);
  stall.updated_at = stall.opened_at;
  b.PutIncident(stall);
  model::Incident old;
  old.id = "inc-purchases-halved";
  old.root = DemoKey("purchases");
  old.state = model::IncidentState::kResolved;
  old.title = "purchases dropped by half";
  old.opened_at = inc[1].from + hours(3);
  old.updated_at = old.resolved_at.emplace(now - hours(3));
  b.PutIncident(old);
  model::Anomaly late = MakeAnomaly(DemoKey("hubspot_contacts"), "update", "freshness",
                                    inc[0].from + hours(2), 2 * 3600 + 60, 0, 7200,
                                    model::Severity::kError, stall.id);
  b.PutAnomaly(late);
  b.PutAnomaly(MakeAnomaly(DemoKey("hubspot_contacts"), "row_count", "volume",
                           inc[0].from + hours(3), 64000, 64100, 64400, model::Severity::kWarn,
                           stall.id));
  b.PutAnomaly(MakeAnomaly(DemoKey("purchases"), "row_count", "volume", inc[1].from + hours(3),
                           2'100'000, 2'110'000, 2'130'000, model::Severity::kWarn, old.id));
  b.PutAnomaly(MakeAnomaly(DemoKey("products"), "schema", "schema", inc[3].to - minutes(1), 1, 0,
                           0, model::Severity::kError));
  return b;
}

template <typename Factory>
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kNow);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  void LoadDemo() {
    auto loaded = LoadDemoData(*store_, kNow);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    auto written = store_->Write(Detections(kNow));
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }
  ReportData MustBuild(Timestamp since, Timestamp until) {
    ReportOptions o;
    o.since = since;
    o.until = until;
    auto r = BuildReport(*store_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ReportData{};
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(ReportTest, Backends, catalog::testing::FactoryNames);

std::set<std::string> NamesOf(const std::vector<ReportAssetRef>& refs) {
  std::set<std::string> out;
  for (const auto& r : refs) out.insert(r.name);
  return out;
}

TYPED_TEST(ReportTest, DemoNightHasEveryPart) {
  this->LoadDemo();
  const Timestamp until = DemoAnchor(kNow);
  ReportData r = this->MustBuild(until - hours(24), until);
  const ReportHeadline& h = r.current;
  EXPECT_FALSE(r.empty_store);
  EXPECT_EQ(h.assets, 17);
  EXPECT_EQ(h.anomalies, 3);  // the purchases one is five days old
  EXPECT_EQ(h.anomalies_by_detector.at("freshness"), 1);
  EXPECT_EQ(h.anomalies_by_detector.at("volume"), 1);
  EXPECT_EQ(h.anomalies_by_detector.at("schema"), 1);
  EXPECT_EQ(h.incidents_opened, 1);
  EXPECT_EQ(h.incidents_resolved, 1);
  EXPECT_EQ(h.incidents_open, 1);
  EXPECT_EQ(r.previous.incidents_open, 1);  // the purchases incident, resolved since
  EXPECT_EQ(h.dbt_runs, 1);
  EXPECT_EQ(h.dbt_model_failures, 1);  // dim_products
  EXPECT_EQ(h.dbt_test_failures, 1);   // not_null_dim_customers_email
  EXPECT_EQ(r.previous.dbt_model_failures, 0);
  EXPECT_EQ(h.schema_changes, 2);      // products and the stg view over it
  EXPECT_EQ(r.previous.schema_changes, 0);
  EXPECT_GE(h.late, 1);
  EXPECT_EQ(h.fresh + h.late, 14);     // every source and model has updates

  // The open incident: root, symptoms, downstream, owners.
  ASSERT_EQ(r.open_incidents.size(), 1u);
  const ReportIncident& inc = r.open_incidents[0];
  EXPECT_EQ(inc.root.name, "hubspot_contacts");
  EXPECT_EQ(inc.symptoms.size(), 2u);
  std::set<std::string> down = NamesOf(inc.downstream);
  for (const char* n : {"stg_airbyte__contacts", "dim_customers", "sales", "Customer 360",
                        "Sales overview"}) {
    EXPECT_TRUE(down.count(n)) << n;
  }
  ASSERT_FALSE(inc.owners.empty());
  EXPECT_EQ(inc.owners[0].email, "growth-ops@acme.example");

  // A chart per non-schema anomaly, with the series over the training window.
  ASSERT_EQ(r.charts.size(), 2u);
  for (const ReportChart& c : r.charts) {
    EXPECT_GT(c.ts.size(), 20u) << c.anomaly.metric;
    EXPECT_LE(c.ts.size(), 160u);
    EXPECT_FALSE(c.flagged.empty());
  }

  // Freshness: the stalled sync first, late past its dbt error_after.
  ASSERT_FALSE(r.freshness.empty());
  EXPECT_EQ(r.freshness[0].asset.name, "hubspot_contacts");
  EXPECT_EQ(r.freshness[0].severity, "error");
  EXPECT_GT(r.freshness[0].lateness_s, 3600.0);
  EXPECT_NE(r.freshness[0].rule.find("error after 6h"), std::string::npos);

  // Schema: category dropped from products breaks dim_products and sales.
  const ReportSchemaChange* products = nullptr;
  for (const auto& sc : r.schema_changes) {
    if (sc.asset.name == "products") products = &sc;
  }
  ASSERT_NE(products, nullptr);
  EXPECT_TRUE(products->breaking);
  ASSERT_EQ(products->changes.size(), 1u);
  EXPECT_EQ(products->changes[0], "removed column CATEGORY (VARCHAR)");
  EXPECT_EQ(products->before.size(), products->after.size() + 1);
  EXPECT_EQ(NamesOf(products->broken), (std::set<std::string>{"dim_products", "sales"}));

  // dbt: failures, slowest and most grown.
  std::set<std::string> failed;
  for (const auto& f : r.failures) failed.insert(f.node_id + ":" + f.status);
  EXPECT_TRUE(failed.count("model.acme_sales.dim_products:error"));
  EXPECT_TRUE(failed.count("model.acme_sales.sales:skipped"));
  ASSERT_FALSE(r.slowest.empty());
  EXPECT_EQ(r.slowest[0].asset.name, "sales");
  ASSERT_FALSE(r.most_grown.empty());
  EXPECT_GT(r.most_grown[0].duration_growth, 0.1);

  // Noisiest over 30 days: three assets, hubspot_contacts with two.
  ASSERT_EQ(r.noisiest.size(), 3u);
  EXPECT_EQ(r.noisiest[0].asset.name, "hubspot_contacts");
  EXPECT_EQ(r.noisiest[0].anomalies, 2);
}

TYPED_TEST(ReportTest, RenderingsCarryTheContent) {
  this->LoadDemo();
  const Timestamp until = DemoAnchor(kNow);
  ReportData r = this->MustBuild(until - hours(24), until);
  std::string html = RenderReportHtml(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* part : {"Open incidents (1)", "hubspot_contacts is late", "<svg", "<polyline",
                           "class=\"band\"", "class=\"flag\"", "class=\"det\"", "Freshness",
                           "removed column CATEGORY", "Broken since", "Slowest models",
                           "Most-grown models", "Noisiest assets", "growth-ops@acme.example",
                           "@media print", "width=device-width"}) {
    EXPECT_NE(html.find(part), std::string::npos) << part;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);

  std::string md = RenderReportMarkdown(r);
  for (const char* part : {"## Open incidents (1)", "## Freshness", "## Schema changes (2)",
                           "removed column CATEGORY", "## Noisiest assets", "| Late |"}) {
    EXPECT_NE(md.find(part), std::string::npos) << part;
  }
  auto j = nlohmann::json::parse(RenderReportJson(r));
  EXPECT_EQ(j["headline"]["dbt_test_failures"], 1);
  EXPECT_EQ(j["open_incidents"][0]["root"]["name"], "hubspot_contacts");
  EXPECT_EQ(j["charts"].size(), 2u);
  EXPECT_EQ(j["schema_changes"].size(), 2u);
}

TYPED_TEST(ReportTest, EmptyStoreIsAShortReport) {
  ReportData r = this->MustBuild(kNow - hours(24), kNow);
  EXPECT_TRUE(r.empty_store);
  EXPECT_EQ(r.current.assets, 0);
  std::string html = RenderReportHtml(r);
  EXPECT_NE(html.find("Nothing to report yet"), std::string::npos);
  EXPECT_LT(html.size(), 8000u);
  EXPECT_NE(RenderReportMarkdown(r).find("Nothing to report yet"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(RenderReportJson(r))["empty_store"].get<bool>());
}

TYPED_TEST(ReportTest, QuietWindowSaysSo) {
  this->LoadDemo();
  const Timestamp until = DemoAnchor(kNow) - days(40);
  ReportData r = this->MustBuild(until - hours(24), until);
  EXPECT_EQ(r.current.anomalies, 0);
  EXPECT_EQ(r.current.dbt_model_failures, 0);
  EXPECT_EQ(r.current.dbt_runs, 1);
  EXPECT_TRUE(r.open_incidents.empty());
  std::string html = RenderReportHtml(r);
  EXPECT_NE(html.find("No anomaly in this window."), std::string::npos);
  EXPECT_NE(html.find("No open incident."), std::string::npos);
}

TEST(Report, RejectsAnEmptyWindowAndBadDurations) {
  catalog::testing::SqliteFileFactory factory;
  auto store = factory.Open(nullptr);
  ASSERT_TRUE(store.ok());
  ReportOptions o;
  o.since = o.until = kNow;
  auto r = BuildReport(**store, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(ParseReportDuration("24h").value_or(std::chrono::seconds(0)).count(), 86400);
  EXPECT_EQ(ParseReportDuration("7d").value_or(std::chrono::seconds(0)).count(), 7 * 86400);
  EXPECT_EQ(ParseReportDuration("90m").value_or(std::chrono::seconds(0)).count(), 5400);
  for (const char* bad : {"", "h", "24", "-3h", "3x", "0h", "1.5h"}) {
    EXPECT_FALSE(ParseReportDuration(bad).ok()) << bad;
  }
}

TEST(Report, EscapesWhatTheCatalogSays) {
  catalog::testing::SqliteFileFactory factory;
  auto store = factory.Open(nullptr);
  ASSERT_TRUE(store.ok());
  catalog::WriteBatch b;
  model::Asset a;
  a.key = {"postgres", "raw.public.evil"};
  a.kind = model::AssetKind::kTable;
  a.name = "<script>alert(1)</script>";
  b.PutAsset(a);
  model::Anomaly x = MakeAnomaly(a.key, "row_count", "volume", kNow - hours(2), 5, 10, 20,
                                 model::Severity::kWarn);
  x.explanation = "<img src=x onerror=alert(2)>";
  b.PutAnomaly(x);
  for (int i = 0; i < 30; ++i) {
    b.AppendMetricPoint({a.key, "row_count", kNow - hours(2) - hours(24 * i), 15.0});
  }
  ASSERT_TRUE((*store)->Write(b).ok());
  ReportOptions o;
  o.since = kNow - hours(24);
  o.until = kNow;
  auto r = BuildReport(**store, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string html = RenderReportHtml(*r);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  std::string md = RenderReportMarkdown(*r);
  EXPECT_EQ(md.find("<script>"), std::string::npos);
}

// The browser test (tests/browser) renders this file: the demo night, as `tidemark demo`
// will write it.
TEST(Report, WritesTheDemoReportArtifact) {
  catalog::testing::SqliteFileFactory factory;
  model::ManualClock clock(kNow);
  auto store = factory.Open(&clock);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(LoadDemoData(**store, kNow).ok());
  ASSERT_TRUE((*store)->Write(Detections(kNow)).ok());
  ReportOptions o;
  o.until = DemoAnchor(kNow);
  o.since = o.until - hours(24);
  auto r = BuildReport(**store, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::filesystem::path dir = TIDEMARK_ARTIFACT_DIR;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "report.html") << RenderReportHtml(*r);
  std::ofstream(dir / "report.md") << RenderReportMarkdown(*r);
  std::ofstream(dir / "report.json") << RenderReportJson(*r);
  EXPECT_TRUE(std::filesystem::file_size(dir / "report.html") > 10000);
}

}  // namespace
}  // namespace tidemark::pipeline
