// Per-asset detector settings from dbt meta.tidemark (issue 5): defaults, overrides, and a
// clear error naming the JSON path for every bad value.

#include "tidemark/pipeline/asset_settings.h"

#include <gtest/gtest.h>

#include <string>

namespace tidemark::pipeline {
namespace {

using namespace std::chrono_literals;

AssetDetectorSettings Parse(const std::string& tidemark_meta, const std::string& rest = "") {
  auto s = ParseAssetDetectorSettings(R"({"meta":{"tidemark":)" + tidemark_meta + "}" + rest + "}");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : AssetDetectorSettings{};
}

TEST(AssetSettingsTest, NoPropertiesGiveTheDefaults) {
  for (const char* props : {"", "not json", "[]", "{}", R"({"meta":{}})"}) {
    auto s = ParseAssetDetectorSettings(props);
    ASSERT_TRUE(s.ok()) << props;
    EXPECT_TRUE(s->volume && s->column_metrics && s->freshness && s->schema && s->tests);
    EXPECT_FALSE(s->sensitivity);
    const detectors::VolumeSettings v = s->VolumeFor("row_count");
    const detectors::VolumeSettings d = detectors::DefaultVolumeSettings("row_count");
    EXPECT_EQ(v.sensitivity, d.sensitivity);
    EXPECT_EQ(v.cumulative, d.cumulative);
    EXPECT_FALSE(s->freshness_settings.warn_after || s->freshness_settings.error_after);
  }
}

TEST(AssetSettingsTest, OverridesReachVolumeAndFreshnessSettings) {
  AssetDetectorSettings s = Parse(
      R"({"sensitivity": 7.5, "direction": "drop", "seasonality": "none", "training_days": 14,)"
      R"( "min_history": 10, "min_abs_change": 50, "min_rel_change": 0.2})");
  const detectors::VolumeSettings v = s.VolumeFor("rows_affected");
  EXPECT_EQ(v.sensitivity, 7.5);
  EXPECT_EQ(v.direction, detectors::Direction::kDrop);
  EXPECT_EQ(v.seasonality, detectors::Seasonality::kNone);
  EXPECT_EQ(v.training_window, std::chrono::seconds(14 * 86400));
  EXPECT_EQ(v.min_history, 10);
  EXPECT_EQ(v.min_abs_change, 50);
  EXPECT_EQ(v.min_rel_change, 0.2);
  EXPECT_EQ(s.freshness_settings.seasonality, detectors::Seasonality::kNone);
  EXPECT_EQ(s.freshness_settings.training_window, std::chrono::seconds(14 * 86400));
  EXPECT_EQ(s.freshness_settings.min_history, 10);
  // What the metric's own defaults say and meta does not override stays.
  EXPECT_EQ(v.cumulative, detectors::DefaultVolumeSettings("rows_affected").cumulative);
}

TEST(AssetSettingsTest, DisabledDetectorsAndEnabledFalse) {
  AssetDetectorSettings s = Parse(R"({"disabled": ["volume", "schema"]})");
  EXPECT_FALSE(s.volume);
  EXPECT_FALSE(s.schema);
  EXPECT_TRUE(s.column_metrics && s.freshness && s.tests);
  s = Parse(R"({"enabled": false})");
  EXPECT_FALSE(s.volume || s.column_metrics || s.freshness || s.schema || s.tests);
}

TEST(AssetSettingsTest, MetaFreshnessReplacesDbtFreshness) {
  const std::string dbt =
      R"(,"freshness":{"warn_after":{"count":12,"period":"hour"},"error_after":{"count":1,"period":"day"}})";
  AssetDetectorSettings s = Parse("{}", dbt);
  EXPECT_EQ(s.freshness_settings.warn_after, std::chrono::seconds(12h));
  EXPECT_EQ(s.freshness_settings.error_after, std::chrono::seconds(24h));
  s = Parse(R"({"freshness": {"error_after": {"count": 90, "period": "minute"}}})", dbt);
  EXPECT_FALSE(s.freshness_settings.warn_after);
  EXPECT_EQ(s.freshness_settings.error_after, std::chrono::seconds(90min));
}

TEST(AssetSettingsTest, BadValuesNameTheirPath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("yes")", "meta.tidemark"},
      {R"({"sensitivity": "high"})", "meta.tidemark.sensitivity"},
      {R"({"sensitivity": 0})", "meta.tidemark.sensitivity"},
      {R"({"direction": "up"})", "meta.tidemark.direction"},
      {R"({"seasonality": 7})", "meta.tidemark.seasonality"},
      {R"({"training_days": -1})", "meta.tidemark.training_days"},
      {R"({"min_history": 2.5})", "meta.tidemark.min_history"},
      {R"({"min_rel_change": -0.1})", "meta.tidemark.min_rel_change"},
      {R"({"disabled": ["volume", "magic"]})", "meta.tidemark.disabled"},
      {R"({"enabled": "no"})", "meta.tidemark.enabled"},
      {R"({"freshness": {"error_after": {"count": 1, "period": "fortnight"}}})",
       "meta.tidemark.freshness.error_after"},
      {R"({"freshness": {"late_after": {"count": 1, "period": "day"}}})",
       "meta.tidemark.freshness.late_after"},
      {R"({"sensitivty": 4})", "meta.tidemark.sensitivty"},
  };
  for (const auto& [meta, path] : cases) {
    auto s = ParseAssetDetectorSettings(std::string(R"({"meta":{"tidemark":)") + meta + "}}");
    ASSERT_FALSE(s.ok()) << meta;
    EXPECT_TRUE(s.status().IsInvalidArgument()) << meta;
    EXPECT_EQ(s.status().where(), path) << meta << ": " << s.status().ToString();
    EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().message();
  }
}

}  // namespace
}  // namespace tidemark::pipeline
