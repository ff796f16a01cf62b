// The OpenLineage mapper reads events through simdjson's DOM, falling back on nlohmann for
// what simdjson refuses. Both readings must give the same verdict: the same writes, report
// and error (message and JSON path) for every file under ../shared/fixtures/openlineage (read
// in place), for truncated events, for each member of an event replaced by every other JSON
// type, and for huge strings, emoji, escapes, odd numbers, repeated keys and deep nesting.
// On the same inputs, the validating mapper (what the HTTP endpoint runs before logging an
// event) reaches the mapping's verdict: the same error, or the same counts and run.
// Pure: no store.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/fixtures.h"
#include "openlineage_map.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector::openlineage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Everything a mapping produced, as text: the status, the report and every write.
std::string Outcome(const model::Status& status, Mapper& mapper, OpenLineageReport report) {
  if (!status.ok()) return "error: " + status.ToString();
  catalog::WriteBatch b;
  mapper.Flush(b);
  report.elapsed_ms = 0;
  std::string out = report.ToJson() + "\n";
  auto cols = [&](const std::vector<model::Column>& cs) {
    for (const model::Column& c : cs) {
      out += "  col " + c.name + "|" + std::to_string(c.position) + "|" + c.data_type + "|" +
             c.description + "|" + c.properties + "\n";
    }
  };
  for (const model::Asset& a : b.assets()) {
    out += "asset " + a.key.ToString() + "|" + std::string(model::AssetKindName(a.kind)) + "|" +
           a.name + "|" + a.description + "|" + a.source + "|" + a.database + "|" + a.schema +
           "|" + a.properties + "\n";
  }
  for (const auto& [alias, key] : b.aliases()) out += "alias " + alias + "->" + key.ToString() + "\n";
  for (const auto& [key, cs] : b.columns()) {
    out += "columns " + key.ToString() + "\n";
    cols(cs);
  }
  for (const model::Owner& o : b.owners()) out += "owner " + o.id + "|" + o.name + "|" + o.email + "\n";
  for (const auto& [key, list] : b.ownerships()) {
    for (const model::Ownership& o : list) out += "owns " + key.ToString() + "|" + o.owner_id + "|" + o.role + "\n";
  }
  for (const model::LineageEdge& e : b.edges()) {
    out += "edge " + e.upstream.ToString() + "." + e.upstream_column + "->" +
           e.downstream.ToString() + "." + e.downstream_column + " via " + e.via.ToString() +
           "|" + e.origin + "|" + e.transformation + "\n";
  }
  for (const model::Run& r : b.runs()) {
    out += "run " + r.id + "|" + r.job.ToString() + "|" + std::string(model::RunStateName(r.state)) +
           "|" + model::FormatTimestamp(r.event_time) + "|" + r.parent_run_id + "|" +
           r.error_message + "|" + r.properties + "\n";
  }
  for (const model::NodeResult& n : b.node_results()) {
    out += "result " + n.run_id + "|" + n.node_id + "|" + n.status + "|" + n.properties + "\n";
  }
  for (const model::MetricPoint& p : b.points()) {
    out += "point " + p.asset.ToString() + "|" + p.metric + "|" + std::to_string(p.value) + "\n";
  }
  for (const model::SchemaSnapshot& s : b.snapshots()) {
    out += "snapshot " + s.asset.ToString() + "|" + model::FormatTimestamp(s.observed_at) + "\n";
    cols(s.columns);
  }
  return out;
}

// The outcome of `text` read the production way (simdjson first) and by nlohmann alone.
std::pair<std::string, std::string> BothWays(const std::string& text, const std::string& name) {
  OpenLineageDocument doc{name, text};
  std::string fast, slow;
  {
    Mapper mapper(nullptr);
    OpenLineageReport report;
    model::Status s = mapper.Add(doc, report);
    fast = Outcome(s, mapper, report);
  }
  {
    Mapper mapper(nullptr);
    OpenLineageReport report;
    auto parsed = ParseEventWithNlohmann(doc);
    model::Status s = parsed.ok() ? mapper.Add(doc, *parsed, report) : parsed.status();
    slow = Outcome(s, mapper, report);
  }
  return {fast, slow};
}

// The verdict of a mapping (`validate_only` false) or of validation alone: the error, or the
// report's counts with the run id and event time the log records.
std::string Verdict(const std::string& text, const std::string& name, bool validate_only) {
  OpenLineageDocument doc{name, text};
  Mapper mapper = validate_only ? Mapper(Mapper::ValidateOnly()) : Mapper(nullptr);
  OpenLineageReport report;
  model::Status s = mapper.Add(doc, report);
  if (!s.ok()) return "error: " + s.ToString();
  return report.ToJson() + " run " + mapper.last_run_id() + " at " +
         model::FormatTimestamp(mapper.last_event_time());
}

#define EXPECT_AGREE(text, name)                                                         \
  do {                                                                                   \
    auto [fast, slow] = BothWays((text), (name));                                        \
    EXPECT_EQ(fast, slow) << "input: " << (name);                                        \
    EXPECT_EQ(Verdict((text), (name), true), Verdict((text), (name), false))             \
        << "input: " << (name);                                                          \
  } while (0)

std::vector<fs::path> OlFiles() {
  std::vector<fs::path> out;
  const fs::path dir = tidemark::testing::SharedFixtures() / "openlineage";
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A complete RunEvent touching every facet the mapper reads.
json FullEvent() {
  return json::parse(R"({
    "eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00.123Z",
    "producer": "https://example.com/producer",
    "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8", "facets": {
      "nominalTime": {"nominalStartTime": "2024-05-01T09:00:00Z"},
      "parent": {"run": {"runId": "0f5e83fa-3480-44ff-99c5-ff943904e5e8"}, "job": {"namespace": "a", "name": "b"}},
      "errorMessage": {"message": "boom", "programmingLanguage": "python"},
      "processing_engine": {"name": "spark", "version": "3.5.0"}}},
    "job": {"namespace": "airflow", "name": "dag.task", "facets": {
      "sql": {"query": "select 1"},
      "documentation": {"description": "the job"},
      "ownership": {"owners": [{"name": "team:data", "type": "MAINTAINER"}, {"name": "jane@shop.com"}]}}},
    "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders",
      "facets": {"schema": {"fields": [{"name": "id", "type": "int"},
                                       {"name": "addr", "type": "struct", "fields": [{"name": "city", "type": "text"}]}]},
                 "symlinks": {"identifiers": [{"namespace": "hive://h", "name": "orders", "type": "TABLE"}]}},
      "inputFacets": {"dataQualityMetrics": {"rowCount": 10, "bytes": 2.5,
        "columnMetrics": {"id": {"nullCount": 1, "distinctCount": 9, "quantiles": {"0.5": 4}}}}}}],
    "outputs": [{"namespace": "postgres://db:5432", "name": "shop.public.totals",
      "facets": {"columnLineage": {"fields": {"total": {"inputFields": [
          {"namespace": "postgres://db:5432", "name": "shop.public.orders", "field": "id",
           "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}]}]}}},
                 "dataQualityAssertions": {"assertions": [{"assertion": "not_null", "success": true, "column": "total", "severity": "error"}]},
                 "custom": {"x": [1, -2, 3.5, true, null, "s"]}},
      "outputFacets": {"outputStatistics": {"rowCount": 3, "size": 100}}}]
  })");
}

TEST(OpenLineageParsersAgree, SimdjsonReadsEventsAndNlohmannWhatItRefuses) {
  const std::string text = FullEvent().dump();
  auto fast = ParseEvent({"request", text});
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_TRUE(fast->read_by_simdjson());
  auto bom = ParseEvent({"request", "\xEF\xBB\xBF" + text});
  ASSERT_TRUE(bom.ok()) << bom.status().ToString();
  EXPECT_FALSE(bom->read_by_simdjson());
  // Out of nlohmann's range too: an error naming the document, never an exception.
  auto huge = ParseEvent({"request", R"({"eventTime": 1e400})"});
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().ToString().find("not valid JSON: number overflow"), std::string::npos)
      << huge.status().ToString();
  auto cut = ParseEvent({"request", "{\"eventTime\": \n ["});
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().ToString().find("request, line 2, column"), std::string::npos)
      << cut.status().ToString();
}

TEST(OpenLineageParsersAgree, OnEveryFixtureFileAndEvent) {
  std::vector<fs::path> files = OlFiles();
  ASSERT_GE(files.size(), 40u) << "OpenLineage fixtures missing (TIDEMARK_FIXTURES)";
  size_t events = 0;
  for (const fs::path& path : files) {
    const std::string text = tidemark::testing::ReadFile(path);
    EXPECT_AGREE(text, path.string());
    auto docs = SplitOpenLineageEvents(text, path.string());
    if (!docs.ok()) continue;
    for (const OpenLineageDocument& d : *docs) {
      EXPECT_AGREE(d.json_text, d.name_for_errors);
      ++events;
    }
  }
  EXPECT_GE(events, 40u);
}

TEST(OpenLineageParsersAgree, OnTruncatedEvents) {
  const std::string text = FullEvent().dump(2);
  for (size_t n = 0; n < text.size(); n += 3) EXPECT_AGREE(text.substr(0, n), "cut at " + std::to_string(n));
}

// Every member of the full event, in turn, replaced by each JSON type (and removed).
TEST(OpenLineageParsersAgree, OnEveryMemberOfEveryWrongType) {
  const json event = FullEvent();
  const json flat = event.flatten();
  const std::vector<json> replacements = {nullptr, true, 7, -1.5, "", "x", json::array(),
                                          json::object(), json::array({1, "a"})};
  size_t cases = 0;
  for (const auto& [pointer, value] : flat.items()) {
    // The leaf and each object or array holding it.
    for (json::json_pointer p(pointer); !p.empty(); p = p.parent_pointer()) {
      for (const json& r : replacements) {
        json e = event;
        e[p] = r;
        EXPECT_AGREE(e.dump(), p.to_string() + " = " + r.dump());
        ++cases;
      }
      json e = event;
      json& parent = e[p.parent_pointer()];
      if (parent.is_array()) {
        parent.erase(std::stoul(p.back()));
      } else {
        parent.erase(p.back());
      }
      EXPECT_AGREE(e.dump(), p.to_string() + " removed");
    }
  }
  EXPECT_GT(cases, 500u);
}

TEST(OpenLineageParsersAgree, OnHugeStringsEmojiEscapesNumbersAndRepeatedKeys) {
  json e = FullEvent();
  e["job"]["facets"]["documentation"]["description"] = std::string(2'000'000, 'd');
  e["outputs"][0]["name"] = "shop.public.t\xF0\x9F\x8C\x8A_emoji_\xE2\x82\xAC";
  EXPECT_AGREE(e.dump(), "huge and emoji");
  const std::string base = FullEvent().dump();
  auto with = [&](const std::string& custom) {
    std::string t = base;
    const std::string marker = "\"custom\":";
    size_t at = t.find(marker);
    return t.insert(at + marker.size(), custom + ", \"custom_was\":");
  };
  for (const std::string& custom : std::vector<std::string>{
           R"("\ud83c\udf0a \u00e9 \" \\ \/ \b\f\n\r\t \u0000")", R"("\ud800")", R"("\udc00x")",
        R"(18446744073709551615)", R"(18446744073709551616)", R"(-9223372036854775808)",
        R"(-9223372036854775809)", R"(1e400)", R"(-0)", R"(-0.0)", R"(1.0)", R"(1E2)",
        R"(0.1)", R"(123456789012345678901234567890)", R"({"a": 1, "a": 2, "b": {"c": 3, "c": 4}})",
        R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])",
        std::string(3000, '[') + std::string(3000, ']'), "\"\xff\xfe\"", "\"\xC3\"",
        "\"tab\there\"", "NaN", "Infinity", "01", "1.", ".5", "+1", "'single'", "tru"}) {
    EXPECT_AGREE(with(custom), custom.substr(0, 60));
  }
  // Repeated keys where the mapper looks: the last one counts, for both.
  std::string twice = base;
  twice.insert(1, R"("eventTime": "not a time", )");
  EXPECT_AGREE(twice, "eventTime twice");
  twice = base;
  twice.insert(twice.find("\"runId\""), R"("runId": "nope", )");
  EXPECT_AGREE(twice, "runId twice");
  EXPECT_AGREE("\xEF\xBB\xBF" + base, "byte order mark");
  EXPECT_AGREE(base + " \n", "trailing space");
  EXPECT_AGREE(base + " {}", "trailing document");
  EXPECT_AGREE("", "empty");
  EXPECT_AGREE("[]", "array");
  EXPECT_AGREE("\"event\"", "string");
}

}  // namespace
}  // namespace tidemark::collector::openlineage
