// The routes:, channels: and detectors: sections (routing_config.h): durations read as every
// other section reads them, and errors that name the file, line and key.

#include "routing_config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tidemark::ui {
namespace {

using namespace std::chrono_literals;

model::Result<AlertingConfig> Load(const std::string& text) {
  auto config = ParseConfig(text, "tidemark.yml");
  if (!config.ok()) return config.status();
  config->file = "tidemark.yml";
  config->file_text = text;
  return LoadAlertingConfig(*config, [](const std::string&) { return std::nullopt; });
}

std::string Routes(const std::string& body) {
  return "channels:\n  ops:\n    kind: file\n    path: /tmp/alerts.jsonl\nroutes:\n  default: ops\n" +
         body;
}

TEST(RoutingConfigTest, DurationsTakeEveryUnitOfTheConfigFile) {
  const std::pair<std::string, std::chrono::milliseconds> cases[] = {
      {"250ms", 250ms}, {"30", 30s}, {"10s", 10s}, {"5m", 5min}, {"2h", 2h}, {"1d", 24h}};
  for (const auto& [text, expected] : cases) {
    auto loaded = Load(Routes("  detect_interval: " + text + "\n  delivery:\n    backoff: " + text +
                              "\n"));
    ASSERT_TRUE(loaded.ok()) << text << ": " << loaded.status().ToString();
    EXPECT_EQ(loaded->scheduler.detect_interval, expected) << text;
    EXPECT_EQ(loaded->scheduler.delivery.base_backoff, expected) << text;
  }
  auto off = Load(Routes("  announce_within: off\n"));
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(off->scheduler.incidents.announce_within, 0s);
  auto day = Load(Routes("  announce_within: 1d\n"));
  ASSERT_TRUE(day.ok()) << day.status().ToString();
  EXPECT_EQ(day->scheduler.incidents.announce_within, 24h);
}

TEST(RoutingConfigTest, ABadDurationNamesTheKeyAndLine) {
  for (const std::string text : {"0", "-5s", "10 minutes", "5w", "s", "1.5s", "99999999999s"}) {
    auto loaded = Load(Routes("  detect_interval: " + text + "\n"));
    ASSERT_FALSE(loaded.ok()) << text;
    EXPECT_TRUE(loaded.status().IsInvalidArgument()) << loaded.status().ToString();
    EXPECT_EQ(loaded.status().where(), "tidemark.yml:7") << text;
    EXPECT_EQ(loaded.status().message(),
              "routes.detect_interval: expected a duration like 10s, got \"" + text + "\"");
  }
}

}  // namespace
}  // namespace tidemark::ui
