// LoadDbtTarget: folders and files, recognised by name or by their schema URL.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catalog/test_stores.h"
#include "collector/fixtures.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

namespace fs = std::filesystem;
using tidemark::testing::ReadFile;

fs::path Shop() { return tidemark::testing::TestData() / "dbt" / "shop"; }
fs::path Jaffle() { return tidemark::testing::SharedFixtures() / "dbt" / "jaffle_shop"; }

void Write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

TEST(LoadDbtTargetTest, ReadsATargetFolderByFileNames) {
  catalog::testing::TempDir dir;
  Write(dir.path() / "manifest.json", ReadFile(Shop() / "manifest.json"));
  Write(dir.path() / "run_results.json", ReadFile(Shop() / "run_results.json"));
  Write(dir.path() / "graph.gpickle", "not an artifact");
  auto a = LoadDbtTarget({dir.path()});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->manifest.name_for_errors, (dir.path() / "manifest.json").string());
  EXPECT_EQ(a->manifest.json_text, ReadFile(Shop() / "manifest.json"));
  EXPECT_TRUE(a->run_results.present());
  EXPECT_FALSE(a->sources.present());
  EXPECT_FALSE(a->catalog.present());
  // Read with room for the parser's padding, so it parses in place.
  EXPECT_GE(a->manifest.json_text.capacity(), a->manifest.json_text.size() + kDbtJsonPadding);
}

TEST(LoadDbtTargetTest, RecognisesFilesByTheirSchemaUrl) {
  auto a = LoadDbtTarget({Jaffle() / "manifest__v5__jaffle_shop__manifest.json",
                          Jaffle() / "catalog__v1__jaffle_shop__catalog.json",
                          Shop() / "sources_v2.json"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->manifest.present());
  EXPECT_TRUE(a->catalog.present());
  EXPECT_TRUE(a->sources.present());
  EXPECT_FALSE(a->run_results.present());
}

TEST(LoadDbtTargetTest, RefusesWhatIsNotOneSetOfArtifacts) {
  auto missing = LoadDbtTarget({Shop() / "no_such_file.json"});
  EXPECT_TRUE(missing.status().IsInvalidArgument());
  EXPECT_NE(missing.status().where().find("no_such_file.json"), std::string::npos);

  auto twice = LoadDbtTarget({Shop() / "sources_v1.json", Shop() / "sources_v3.json"});
  EXPECT_TRUE(twice.status().IsInvalidArgument());
  EXPECT_NE(twice.status().message().find("two files"), std::string::npos);

  catalog::testing::TempDir empty;
  EXPECT_TRUE(LoadDbtTarget({empty.path()}).status().IsInvalidArgument());

  catalog::testing::TempDir other;
  Write(other.path() / "x.json", R"({"metadata": {"dbt_schema_version": "https://x/y/v1.json"}})");
  EXPECT_TRUE(LoadDbtTarget({other.path() / "x.json"}).status().IsInvalidArgument());
  EXPECT_TRUE(LoadDbtTarget({}).status().IsInvalidArgument());
}

TEST(DbtArtifactsFromRequestBodyTest, SplitsTheBodyIntoArtifacts) {
  std::string manifest = ReadFile(Shop() / "manifest.json");
  std::string body = "{\"manifest\": " + manifest + ", \"catalog\": null, \"extra\": [1],\n" +
                     "\"sources\": " + ReadFile(Shop() / "sources_v1.json") + "}";
  auto a = DbtArtifactsFromRequestBody(body);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->manifest.name_for_errors, "request.manifest");
  EXPECT_EQ(nlohmann::json::parse(a->manifest.json_text), nlohmann::json::parse(manifest));
  EXPECT_TRUE(a->sources.present());
  EXPECT_FALSE(a->catalog.present());
  EXPECT_FALSE(a->run_results.present());

  auto bad = DbtArtifactsFromRequestBody("{\"manifest\": \"not an object\"}");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().where().find("/manifest"), std::string::npos);
  EXPECT_TRUE(DbtArtifactsFromRequestBody("{\"other\": {}}").status().IsInvalidArgument());
  EXPECT_TRUE(DbtArtifactsFromRequestBody("[").status().IsInvalidArgument());
}

TEST(DbtIngestReportTest, ToJsonIsTheApiSummary) {
  DbtIngestReport r;
  r.project = "shop";
  r.ns = "postgres";
  r.assets_by_kind = {{"table", 2}, {"view", 1}};
  r.assets = 3;
  r.columns = 7;
  r.manifest = {true, false, "manifest/v12"};
  r.warnings = {{"manifest.json, at /nodes/x", "a \"quoted\" <b>warning</b>"}};
  r.warnings_total = 1;
  r.write.assets_written = 3;
  auto j = nlohmann::json::parse(r.ToJson());
  EXPECT_EQ(j["project"], "shop");
  EXPECT_EQ(j["assets"]["total"], 3);
  EXPECT_EQ(j["assets"]["by_kind"]["table"], 2);
  EXPECT_EQ(j["columns"], 7);
  EXPECT_EQ(j["artifacts"]["manifest"]["schema_version"], "manifest/v12");
  EXPECT_EQ(j["artifacts"]["catalog"]["present"], false);
  EXPECT_EQ(j["warnings"][0]["message"], "a \"quoted\" <b>warning</b>");
  EXPECT_EQ(j["written"]["assets"], 3);
  EXPECT_TRUE(j.contains("elapsed_ms"));
}

}  // namespace
}  // namespace tidemark::collector
