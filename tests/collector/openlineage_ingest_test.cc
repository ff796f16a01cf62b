// IngestOpenLineage against real stores: every event under ../shared/fixtures/openlineage
// (complete ones stored, incomplete ones rejected naming the JSON path, with expectations
// worked out here from the JSON independently of the collector), every spec facet example
// wrapped into an event, the mapping of each known facet, arrival-order independence and
// idempotency of runs, rejection of invalid events with nothing stored, and the join with
// dbt's keys.
//
// Runs on SQLite (file and memory) and on PostgreSQL (TIDEMARK_TEST_PG_URL).

#include "tidemark/collector/openlineage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "catalog/test_stores.h"
#include "collector/fixtures.h"
#include "tidemark/collector/dbt.h"
#include "tidemark/collector/openlineage_projector.h"
#include "tidemark/collector/openlineage_writer.h"

namespace tidemark::collector {
namespace {

namespace fs = std::filesystem;
using model::AssetKey;
using model::AssetKind;
using model::RunState;
using nlohmann::json;

fs::path OlFixtures() { return tidemark::testing::SharedFixtures() / "openlineage"; }

OpenLineageDocument Doc(const json& j, std::string name = "request") {
  return {std::move(name), j.dump()};
}

// Is this event complete by the spec's required members? Worked out from the JSON alone.
bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}
std::string ExpectedProblem(const json& e) {
  if (!e.contains("eventTime") || !e["eventTime"].is_string()) return "/eventTime";
  if (!model::ParseTimestamp(e["eventTime"].get<std::string>())) return "/eventTime";
  if (e.contains("run")) {
    if (!e.contains("job")) return "/job";
    for (const char* m : {"namespace", "name"}) {
      if (!e["job"].contains(m)) return std::string("/job/") + m;
    }
    if (!e["run"].contains("runId") || !IsUuid(e["run"]["runId"].get<std::string>())) {
      return "/run/runId";
    }
  }
  return "";
}

// Every event document among the fixtures: the file and its events (arrays split).
std::vector<std::pair<std::string, json>> FixtureEvents() {
  std::vector<std::pair<std::string, json>> out;
  for (const auto& entry : fs::recursive_directory_iterator(OlFixtures())) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    json j = json::parse(tidemark::testing::ReadFile(entry.path()), nullptr, false);
    std::vector<json> items = j.is_array() ? std::vector<json>(j.begin(), j.end())
                                           : std::vector<json>{j};
    for (size_t i = 0; i < items.size(); ++i) {
      const json& e = items[i];
      // Events have eventType/eventTime and a run, job or dataset; the rest of the folder is
      // facet examples, JSON schemas and Marquez's API responses.
      if (!e.is_object() || !(e.contains("eventType") || e.contains("eventTime"))) continue;
      if (!(e.contains("run") || e.contains("job") || e.contains("dataset"))) continue;
      out.emplace_back(entry.path().lexically_relative(OlFixtures()).string() + "#" +
                           std::to_string(i),
                       e);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

const char* kRunId = "3f5e83fa-3480-44ff-99c5-ff943904e5e8";

json Event(std::string type, std::string time, std::string run_id = kRunId) {
  return {{"eventType", type},
          {"eventTime", time},
          {"producer", "https://example.com/producer"},
          {"schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
          {"run", {{"runId", run_id}}},
          {"job", {{"namespace", "airflow-prod"}, {"name", "shop.load_orders"}}},
          {"inputs", json::array({{{"namespace", "postgres://DB.internal"},
                                   {"name", "analytics.raw.orders"}}})},
          {"outputs", json::array({{{"namespace", "postgres://db.internal:5432"},
                                    {"name", "analytics.staging.orders"}}})}};
}

template <typename Factory>
class OpenLineageIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  void Reopen() {
    store_.reset();
    factory_.Cleanup();
    auto store = factory_.Open(nullptr);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  OpenLineageReport MustIngest(std::vector<OpenLineageDocument> docs) {
    auto r = IngestOpenLineage(*store_, docs);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : OpenLineageReport{};
  }
  OpenLineageReport MustIngest(const json& e) { return MustIngest({Doc(e)}); }
  catalog::StoreCounts Counts() {
    auto c = store_->Counts();
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : catalog::StoreCounts{};
  }
  void ExpectRejected(std::vector<OpenLineageDocument> docs, const std::string& where_part) {
    auto before = Counts();
    auto r = IngestOpenLineage(*store_, docs);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    EXPECT_NE(r.status().where().find(where_part), std::string::npos)
        << "where '" << r.status().where() << "' lacks '" << where_part << "'";
    auto after = Counts();
    EXPECT_EQ(after.assets, before.assets);
    EXPECT_EQ(after.runs, before.runs);
    EXPECT_EQ(after.edges, before.edges);
    EXPECT_EQ(after.metric_points, before.metric_points);
  }
  model::Run MustRun(const std::string& id) {
    auto r = store_->GetRun(id);
    EXPECT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    return r.ok() ? *r : model::Run{};
  }
  std::set<std::string> Edges(const AssetKey& key, catalog::Direction d, bool columns) {
    std::set<std::string> out;
    auto edges = store_->GetEdges(key, d);
    EXPECT_TRUE(edges.ok());
    if (!edges.ok()) return out;
    for (const auto& e : *edges) {
      if (e.column_level() != columns) continue;
      out.insert(e.upstream.ToString() + (columns ? "." + e.upstream_column : "") + " -> " +
                 e.downstream.ToString() + (columns ? "." + e.downstream_column : "") +
                 (e.transformation.empty() ? "" : " [" + e.transformation + "]") + " via " +
                 e.via.ToString());
    }
    return out;
  }

  Factory factory_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::SqliteMemoryFactory,
                     catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(OpenLineageIngestTest, Backends, catalog::testing::FactoryNames);

TYPED_TEST(OpenLineageIngestTest, EveryFixtureEventIngestsOrIsRejectedAtItsPath) {
  auto events = FixtureEvents();
  ASSERT_GE(events.size(), 40u) << "fixture events missing under " << OlFixtures();
  size_t stored = 0, rejected = 0;
  for (const std::pair<std::string, json>& item : events) {
    const std::string& name = item.first;
    const json& e = item.second;
    SCOPED_TRACE(name);
    std::string problem = ExpectedProblem(e);
    if (!problem.empty()) {
      this->ExpectRejected({Doc(e, name)}, name + ": " + problem);
      ++rejected;
      continue;
    }
    auto r = IngestOpenLineage(*this->store_, {Doc(e, name)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ++stored;
    if (e.contains("run")) {
      model::Run run = this->MustRun(e["run"]["runId"].get<std::string>());
      EXPECT_EQ(run.job, (AssetKey{e["job"]["namespace"], e["job"]["name"]}));
      EXPECT_EQ(run.source, "openlineage");
    }
    if (e.contains("job")) {
      auto job = this->store_->GetAsset({e["job"]["namespace"], e["job"]["name"]});
      ASSERT_TRUE(job.ok()) << job.status().ToString();
      EXPECT_EQ(job->kind, AssetKind::kJob);
    }
    for (const char* side : {"inputs", "outputs"}) {
      if (!e.contains(side)) continue;
      for (const json& ds : e[side]) {
        AssetKey key{CanonicalDatasetNamespace(ds["namespace"].get<std::string>()),
                     ds["name"].get<std::string>()};
        EXPECT_TRUE(this->store_->GetAsset(key).ok()) << key.ToString();
      }
    }
  }
  // The Marquez events are complete; Airflow's integration expectations carry no eventTime
  // or runId, and Marquez's docker template a placeholder time.
  EXPECT_GE(stored, 24u);
  EXPECT_GE(rejected, 10u);
}

TYPED_TEST(OpenLineageIngestTest, EverySpecFacetExampleIsAcceptedInItsPlace) {
  size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(OlFixtures() / "spec" / "tests")) {
    if (!entry.is_regular_file() || entry.path().parent_path().filename() == "tests") continue;
    std::string facet_type = entry.path().parent_path().filename().string();
    SCOPED_TRACE(entry.path().string());
    json facets = json::parse(tidemark::testing::ReadFile(entry.path()));
    json e = Event("COMPLETE", "2024-01-02T03:04:05Z");
    auto ends = [&](std::string_view s) {
      return facet_type.size() >= s.size() &&
             facet_type.compare(facet_type.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("RunFacet")) {
      e["run"]["facets"] = facets;
    } else if (ends("JobFacet")) {
      e["job"]["facets"] = facets;
    } else if (ends("InputDatasetFacet")) {
      e["inputs"][0]["inputFacets"] = facets;
    } else if (ends("OutputDatasetFacet")) {
      e["outputs"][0]["outputFacets"] = facets;
    } else {
      e["outputs"][0]["facets"] = facets;
    }
    auto r = IngestOpenLineage(*this->store_, {Doc(e)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    ++n;
  }
  EXPECT_GE(n, 40u);
}

TYPED_TEST(OpenLineageIngestTest, FacetsMapToColumnsOwnersPointsTestsAndLineage) {
  json e = Event("FAIL", "2024-05-01T10:00:00.5+02:00");
  e["run"]["facets"] = {
      {"nominalTime", {{"nominalStartTime", "2024-05-01T07:00:00Z"}}},
      {"parent", {{"run", {{"runId", "AB468FB4-4654-4286-9679-59D13D185B19"}}},
                  {"job", {{"namespace", "airflow-prod"}, {"name", "shop"}}}}},
      {"errorMessage", {{"message", "division by zero"}, {"programmingLanguage", "SQL"}}},
      {"processing_engine", {{"name", "Airflow"}, {"version", "2.9.0"}}},
      {"myCompany_custom", {{"anything", json::array({1, 2})}}}};
  e["job"]["facets"] = {
      {"sql", {{"query", "INSERT INTO staging.orders SELECT * FROM raw.orders"}}},
      {"jobType", {{"processingType", "BATCH"}, {"integration", "AIRFLOW"}, {"jobType", "TASK"}}},
      {"documentation", {{"description", "Loads orders."}}},
      {"ownership", {{"owners", json::array({{{"name", "team:data-eng"}, {"type", "MAINTAINER"}}})}}}};
  e["inputs"][0]["inputFacets"] = {
      {"dataQualityMetrics",
       {{"rowCount", 200},
        {"bytes", 4096},
        {"columnMetrics", {{"email", {{"nullCount", 10}, {"distinctCount", 150}}}}}}},
      {"dataQualityAssertions",
       {{"assertions", json::array({{{"assertion", "not_null"}, {"success", false}, {"column", "email"}},
                                    {{"assertion", "row_count_gt_0"}, {"success", true}}})}}}};
  e["outputs"][0]["facets"] = {
      {"schema", {{"fields", json::array({{{"name", "id"}, {"type", "integer"}},
                                          {{"name", "email"}, {"type", "text"}, {"description", "Email."}},
                                          {{"name", "address"}, {"type", "struct"},
                                           {"fields", json::array({{{"name", "city"}, {"type", "text"}}})}}})}}},
      {"documentation", {{"description", "Orders, cleaned."}}},
      {"ownership", {{"owners", json::array({{{"name", "jane@shop.com"}}})}}},
      {"columnLineage",
       {{"fields",
         {{"email", {{"inputFields", json::array({{{"namespace", "postgres://db.internal:5432"},
                                                   {"name", "analytics.raw.orders"},
                                                   {"field", "email"},
                                                   {"transformations", json::array({{{"type", "DIRECT"}, {"subtype", "IDENTITY"}}})}}})}}}}},
        {"dataset", json::array({{{"namespace", "postgres://db.internal:5432"},
                                  {"name", "analytics.raw.orders"},
                                  {"field", "status"},
                                  {"transformations", json::array({{{"type", "INDIRECT"}, {"subtype", "FILTER"}}})}}})}}},
      {"storage", {{"storageLayer", "heap"}, {"fileFormat", "none"}}}};
  e["outputs"][0]["outputFacets"] = {{"outputStatistics", {{"rowCount", 42}, {"size", 1024}}}};

  OpenLineageReport report = this->MustIngest(e);
  EXPECT_EQ(report.events, 1u);
  EXPECT_EQ(report.run_events, 1u);

  const AssetKey job{"airflow-prod", "shop.load_orders"};
  const AssetKey raw{"postgres://db.internal:5432", "analytics.raw.orders"};
  const AssetKey stg{"postgres://db.internal:5432", "analytics.staging.orders"};
  const model::Timestamp t = *model::ParseTimestamp("2024-05-01T08:00:00.5Z");

  model::Run run = this->MustRun(kRunId);
  EXPECT_EQ(run.state, RunState::kFail);
  EXPECT_EQ(run.event_time, t);
  EXPECT_EQ(run.ended_at, t);
  EXPECT_EQ(run.nominal_time, model::ParseTimestamp("2024-05-01T07:00:00Z"));
  EXPECT_EQ(run.parent_run_id, "ab468fb4-4654-4286-9679-59d13d185b19");
  EXPECT_EQ(run.error_message, "division by zero");
  json props = json::parse(run.properties);
  EXPECT_EQ(props["facet/processing_engine"]["version"], "2.9.0");
  EXPECT_EQ(props["facet/myCompany_custom"]["anything"], json::array({1, 2}));
  EXPECT_EQ(RunStateHistory(run), (std::vector<RunStateChange>{{t, RunState::kFail}}));

  auto job_asset = this->store_->GetAsset(job);
  ASSERT_TRUE(job_asset.ok());
  EXPECT_EQ(job_asset->kind, AssetKind::kJob);
  EXPECT_EQ(job_asset->description, "Loads orders.");
  json jprops = json::parse(job_asset->properties);
  EXPECT_EQ(jprops["openlineage"]["facets"]["sql"]["query"],
            "INSERT INTO staging.orders SELECT * FROM raw.orders");
  EXPECT_EQ(jprops["openlineage"]["facets"]["jobType"]["integration"], "AIRFLOW");
  auto job_owners = this->store_->GetOwnersOf(job);
  ASSERT_TRUE(job_owners.ok());
  ASSERT_EQ(job_owners->size(), 1u);
  EXPECT_EQ((*job_owners)[0].first.id, "team:data-eng");
  EXPECT_EQ((*job_owners)[0].second, "maintainer");

  auto out = this->store_->GetAsset(stg);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, AssetKind::kTable);
  EXPECT_EQ(out->name, "orders");
  EXPECT_EQ(out->database, "analytics");
  EXPECT_EQ(out->schema, "staging");
  EXPECT_EQ(out->description, "Orders, cleaned.");
  const json out_facets = json::parse(out->properties)["openlineage"]["facets"];
  EXPECT_EQ(out_facets["storage"]["storageLayer"], "heap");
  // columnLineage's fields became edges; its dataset-level lineage is kept as sent.
  EXPECT_EQ(out_facets["columnLineage"],
            (json{{"dataset", json::array({{{"namespace", "postgres://db.internal:5432"},
                                            {"name", "analytics.raw.orders"},
                                            {"field", "status"},
                                            {"transformations",
                                             json::array({{{"type", "INDIRECT"},
                                                           {"subtype", "FILTER"}}})}}})}}));
  auto owners = this->store_->GetOwnersOf(stg);
  ASSERT_TRUE(owners.ok());
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ((*owners)[0].first.id, "user:jane@shop.com");

  auto columns = this->store_->GetColumns(stg);
  ASSERT_TRUE(columns.ok());
  std::vector<std::string> names;
  for (const auto& c : *columns) names.push_back(c.name + ":" + c.data_type);
  EXPECT_EQ(names, (std::vector<std::string>{"id:integer", "email:text", "address:struct",
                                             "address.city:text"}));
  auto history = this->store_->GetSchemaHistory(stg);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].observed_at, t);

  // The input's DNS name was upper-case and portless: one datasource all the same.
  EXPECT_EQ(this->Edges(stg, catalog::Direction::kUpstream, false),
            (std::set<std::string>{raw.ToString() + " -> " + stg.ToString() + " via " +
                                   job.ToString()}));
  EXPECT_EQ(this->Edges(stg, catalog::Direction::kUpstream, true),
            (std::set<std::string>{raw.ToString() + ".email -> " + stg.ToString() +
                                   ".email [IDENTITY] via " + job.ToString()}));

  auto series = [&](const AssetKey& key, const std::string& metric) {
    auto s = this->store_->ReadSeries(key, metric, t - std::chrono::hours(1),
                                      t + std::chrono::hours(1));
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->values : std::vector<double>{};
  };
  EXPECT_EQ(series(stg, "rows_written"), std::vector<double>{42});
  EXPECT_EQ(series(stg, "bytes_written"), std::vector<double>{1024});
  EXPECT_EQ(series(raw, "row_count"), std::vector<double>{200});
  EXPECT_EQ(series(raw, "bytes"), std::vector<double>{4096});
  EXPECT_EQ(series(raw, "null_count:email"), std::vector<double>{10});
  EXPECT_EQ(series(raw, "null_rate:email"), std::vector<double>{0.05});
  EXPECT_EQ(series(raw, "distinct_count:email"), std::vector<double>{150});

  auto results = this->store_->GetNodeResults(kRunId);
  ASSERT_TRUE(results.ok());
  std::map<std::string, std::string> by_id;
  for (const auto& n : *results) {
    EXPECT_EQ(n.node_kind, "test");
    EXPECT_EQ(n.asset, raw);
    by_id[n.node_id] = n.status;
  }
  EXPECT_EQ(by_id, (std::map<std::string, std::string>{
                       {"assertion:" + raw.ToString() + ":not_null:email", "fail"},
                       {"assertion:" + raw.ToString() + ":row_count_gt_0", "pass"}}));
}

TYPED_TEST(OpenLineageIngestTest, RunEndsTheSameWhateverTheArrivalOrder) {
  std::vector<json> events = {Event("START", "2024-01-01T10:00:00Z"),
                              Event("RUNNING", "2024-01-01T10:05:00Z"),
                              Event("COMPLETE", "2024-01-01T10:30:00Z")};
  events[0]["run"]["facets"] = {{"nominalTime", {{"nominalStartTime", "2024-01-01T10:00:00Z"}}}};
  events[2]["outputs"][0]["outputFacets"] = {{"outputStatistics", {{"rowCount", 7}}}};
  std::vector<size_t> order = {0, 1, 2};
  std::optional<model::Run> first;
  std::optional<catalog::StoreCounts> first_counts;
  do {
    SCOPED_TRACE(std::to_string(order[0]) + std::to_string(order[1]) + std::to_string(order[2]));
    this->Reopen();
    for (size_t i : order) this->MustIngest(events[i]);
    model::Run run = this->MustRun(kRunId);
    EXPECT_EQ(run.state, RunState::kComplete);
    EXPECT_EQ(run.started_at, model::ParseTimestamp("2024-01-01T10:00:00Z"));
    EXPECT_EQ(run.ended_at, model::ParseTimestamp("2024-01-01T10:30:00Z"));
    EXPECT_EQ(RunStateHistory(run).size(), 3u);
    run.properties = json::parse(run.properties).dump();  // compare content, not spelling
    if (!first) {
      first = run;
      first_counts = this->Counts();
    } else {
      EXPECT_EQ(run, *first);
      EXPECT_EQ(this->Counts().edges, first_counts->edges);
      EXPECT_EQ(this->Counts().metric_points, first_counts->metric_points);
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

TYPED_TEST(OpenLineageIngestTest, ARepeatedEventChangesNothing) {
  json e = Event("COMPLETE", "2024-01-01T10:30:00Z");
  e["outputs"][0]["facets"] = {{"schema", {{"fields", json::array({{{"name", "id"}, {"type", "int"}}})}}}};
  e["outputs"][0]["outputFacets"] = {{"outputStatistics", {{"rowCount", 7}}}};
  this->MustIngest(e);
  auto counts = this->Counts();
  model::Run run = this->MustRun(kRunId);
  OpenLineageReport again = this->MustIngest({Doc(e), Doc(e)});
  EXPECT_EQ(again.write.points_written, 0u);
  EXPECT_EQ(again.write.snapshots_written, 0u);
  EXPECT_EQ(again.write.edges_written, 0u);
  EXPECT_EQ(again.write.assets_written, 0u);
  auto after = this->Counts();
  EXPECT_EQ(after.assets, counts.assets);
  EXPECT_EQ(after.edges, counts.edges);
  EXPECT_EQ(after.runs, counts.runs);
  EXPECT_EQ(after.metric_points, counts.metric_points);
  EXPECT_EQ(after.schema_snapshots, counts.schema_snapshots);
  model::Run run_after = this->MustRun(kRunId);
  EXPECT_EQ(json::parse(run_after.properties), json::parse(run.properties));
  run_after.properties = run.properties;
  EXPECT_EQ(run_after, run);
}

TYPED_TEST(OpenLineageIngestTest, InvalidEventsAreRejectedAtTheirPathAndStoreNothing) {
  this->ExpectRejected({{"request", "{\"eventType\": \"START\",\n \"eventTime\": }"}},
                       "request, line 2");
  json e = Event("START", "2024-01-01T10:00:00Z");
  json no_run_id = e;
  no_run_id["run"].erase("runId");
  this->ExpectRejected({Doc(no_run_id)}, "request: /run/runId");
  json bad_uuid = e;
  bad_uuid["run"]["runId"] = "run-1";
  this->ExpectRejected({Doc(bad_uuid)}, "request: /run/runId");
  json no_name = e;
  no_name["job"].erase("name");
  this->ExpectRejected({Doc(no_name)}, "request: /job/name");
  json no_time = e;
  no_time.erase("eventTime");
  this->ExpectRejected({Doc(no_time)}, "request: /eventTime");
  json bad_time = e;
  bad_time["eventTime"] = "yesterday";
  this->ExpectRejected({Doc(bad_time)}, "request: /eventTime");
  json bad_type = e;
  bad_type["eventType"] = "DONE";
  this->ExpectRejected({Doc(bad_type)}, "request: /eventType");
  json bad_ds = e;
  bad_ds["outputs"][0].erase("name");
  this->ExpectRejected({Doc(bad_ds)}, "request: /outputs/0/name");
  json bad_schema = e;
  bad_schema["outputs"][0]["facets"] = {{"schema", {{"fields", "id"}}}};
  this->ExpectRejected({Doc(bad_schema)}, "request: /outputs/0/facets/schema/fields");
  // One bad event in a batch: the good ones are not stored either.
  this->ExpectRejected({Doc(e, "batch: /0"), Doc(no_time, "batch: /1")}, "batch: /1: /eventTime");
  EXPECT_FALSE(this->store_->GetRun(kRunId).ok());
}

TYPED_TEST(OpenLineageIngestTest, DatasetAndJobEventsNeedNoRun) {
  json ds = json::parse(tidemark::testing::ReadFile(
      OlFixtures() / "marquez/test-resources/open_lineage/event_dataset_event.json"));
  json job = json::parse(tidemark::testing::ReadFile(
      OlFixtures() / "marquez/test-resources/open_lineage/event_job_event.json"));
  OpenLineageReport r = this->MustIngest({Doc(ds, "ds"), Doc(job, "job")});
  EXPECT_EQ(r.dataset_events, 1u);
  EXPECT_EQ(r.job_events, 1u);
  EXPECT_EQ(r.runs, 0u);
  AssetKey dkey{CanonicalDatasetNamespace(ds["dataset"]["namespace"].get<std::string>()),
                ds["dataset"]["name"].get<std::string>()};
  EXPECT_TRUE(this->store_->GetAsset(dkey).ok()) << dkey.ToString();
  EXPECT_TRUE(this->store_->GetAsset({job["job"]["namespace"], job["job"]["name"]}).ok());
  EXPECT_EQ(this->Counts().runs, 0);
}

TYPED_TEST(OpenLineageIngestTest, LineageJoinsDbtAssetsOfTheSameTables) {
  DbtArtifacts a;
  a.manifest = {"manifest.json", tidemark::testing::ReadFile(tidemark::testing::TestData() /
                                                             "dbt/shop/manifest.json")};
  auto dbt = IngestDbt(*this->store_, a);
  ASSERT_TRUE(dbt.ok()) << dbt.status().ToString();
  const AssetKey dbt_key{"postgres", "analytics.marts.fct_orders"};
  ASSERT_TRUE(this->store_->GetAsset(dbt_key).ok());
  size_t assets_before = this->Counts().assets;

  json e = Event("COMPLETE", "2024-01-01T10:30:00Z");
  e["inputs"][0] = {{"namespace", "postgres://warehouse:5432"}, {"name", "analytics.marts.fct_orders"}};
  e["outputs"][0] = {{"namespace", "postgres://warehouse:5432"}, {"name", "analytics.exports.orders_csv"}};
  this->MustIngest(e);
  // The dbt model is the input, not a second asset; its OpenLineage name is an alias of it.
  auto resolved = this->store_->Resolve("postgres://warehouse:5432/analytics.marts.fct_orders");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(*resolved, dbt_key);
  auto asset = this->store_->GetAsset(dbt_key);
  ASSERT_TRUE(asset.ok());
  EXPECT_EQ(asset->source, "dbt");
  EXPECT_EQ(asset->kind, AssetKind::kTable);
  // New: the job and the export table.
  EXPECT_EQ(this->Counts().assets, static_cast<long long>(assets_before) + 2);
  auto down = this->store_->GetEdges(dbt_key, catalog::Direction::kDownstream);
  ASSERT_TRUE(down.ok());
  bool found = false;
  for (const auto& edge : *down) {
    found |= edge.downstream.name == "analytics.exports.orders_csv" && edge.origin == "openlineage";
  }
  EXPECT_TRUE(found);
  // dbt's own lineage into the model is still there.
  auto up = this->store_->GetEdges(dbt_key, catalog::Direction::kUpstream);
  ASSERT_TRUE(up.ok());
  EXPECT_FALSE(up->empty());
}

// Producers put surprising types where the spec promises others. Values and containers of
// every complete fixture event are replaced in turn by a value of each other JSON type (at
// most kPerEvent places per event, spread evenly over its JSON pointers in order: a Spark
// plan facet has thousands of leaves the mapping keeps as they are).
// The request-side validation either rejects the event as InvalidArgument naming the request
// and a JSON path, or accepts it, and then the projection must take it too: a 201 is never
// followed by an event the projector skips as failed. Nothing crashes.
TEST(OpenLineageRobustnessTest, AnEventOfAnyShapeIsRejectedWithItsPathOrProjected) {
  auto store = catalog::OpenStore({.url = "sqlite::memory:"});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  constexpr size_t kPerEvent = 150;
  const std::vector<json> replacements = {nullptr, -1.5e300, "x", "", true, json::array(),
                                          json::object()};
  std::vector<catalog::LineageEvent> accepted;
  std::vector<std::string> accepted_what;
  size_t rejected = 0;
  for (const auto& [name, original] : FixtureEvents()) {
    if (!ExpectedProblem(original).empty()) continue;
    const json flat = original.flatten();
    std::set<std::string> all;
    for (const auto& [leaf, value] : flat.items()) {
      for (std::string p = leaf; !p.empty(); p = p.substr(0, p.rfind('/'))) all.insert(p);
    }
    std::vector<std::string> pointers(all.begin(), all.end());
    const size_t step = (pointers.size() + kPerEvent - 1) / kPerEvent;
    for (size_t k = 0; k < pointers.size(); k += step) {
      const std::string& pointer = pointers[k];
      const json::json_pointer at(pointer);
      for (const json& replacement : replacements) {
        if (original.at(at) == replacement) continue;
        json mutated = original;
        mutated[at] = replacement;
        const std::string what = name + " " + pointer + " = " + replacement.dump();
        OpenLineageReport report;
        auto logged = ValidateForLog({Doc(mutated, "request")}, model::Timestamp{}, report);
        if (logged.ok()) {
          accepted.push_back(std::move(logged->front()));
          accepted_what.push_back(what);
          continue;
        }
        ++rejected;
        EXPECT_TRUE(logged.status().IsInvalidArgument()) << what << ": " << logged.status().ToString();
        EXPECT_TRUE(logged.status().where().starts_with("request: /"))
            << what << ": " << logged.status().ToString();
      }
    }
  }
  auto ids = (*store)->AppendLineageEvents(accepted);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  OpenLineageProjector projector(**store);
  auto projected = projector.ProjectAll();
  ASSERT_TRUE(projected.ok()) << projected.status().ToString();
  EXPECT_EQ(projector.Stats().events, accepted.size());
  EXPECT_EQ(projector.Stats().failed, 0u);
  auto failures = (*store)->ListCheckpoints(kLineageLogFailedScope);
  ASSERT_TRUE(failures.ok());
  for (const catalog::Checkpoint& failure : *failures) {
    const size_t i = static_cast<size_t>(
        std::lower_bound(ids->begin(), ids->end(), std::stoll(failure.key)) - ids->begin());
    ADD_FAILURE() << "validated but not projected: "
                  << (i < accepted_what.size() ? accepted_what[i] : failure.key) << ": "
                  << failure.value;
  }
  // Both outcomes happen: lenient about shape, strict about meaning.
  EXPECT_GT(accepted.size(), 1000u);
  EXPECT_GT(rejected, 300u);
  std::printf("mutations: %zu accepted and projected, %zu rejected\n", accepted.size(), rejected);
}

}  // namespace
}  // namespace tidemark::collector
