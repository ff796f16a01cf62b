#include "tidemark/ui/config.h"

#include <gtest/gtest.h>

#include <map>

#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using test::TempDir;

EnvLookup Env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// "where: message", the way the CLI prints a config error.
std::string Described(const model::Status& status) {
  return status.where() + ": " + status.message();
}

// Parses `text` as tidemark.yml and returns the error, failing the test if there is none.
model::Status ParseError(std::string_view text) {
  auto config = ParseConfig(text, "tidemark.yml");
  EXPECT_FALSE(config.ok()) << "accepted:\n" << text;
  return config.ok() ? model::Status::Ok() : config.status();
}

constexpr std::string_view kFullFile = R"(# a complete file
db: postgresql://tidemark:pw@db:5432/tidemark
server:
  listen: 0.0.0.0:9090
  body_limit: 1MiB
  read_timeout: 500ms
  shutdown_grace: 2s
log:
  level: debug
  format: json
)";

TEST(ConfigTest, DefaultsWhenNothingIsSet) {
  auto config = LoadConfig({}, Env());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "sqlite:./tidemark.db");
  EXPECT_EQ(config->listen, "127.0.0.1:8080");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->log_format, "text");
  EXPECT_EQ(config->body_limit_bytes, 8u << 20);
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->shutdown_grace, std::chrono::seconds(10));
  EXPECT_EQ(config->openlineage_retention, std::chrono::hours(24 * 7));
  EXPECT_TRUE(config->file.empty());
  EXPECT_TRUE(config->sections.empty());
}

TEST(ConfigTest, FileOverridesDefaults) {
  TempDir dir;
  std::string file = dir.Write("tidemark.yml", kFullFile);
  auto config = LoadConfig({.config_file = file}, Env());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "postgresql://tidemark:pw@db:5432/tidemark");
  EXPECT_EQ(config->listen, "0.0.0.0:9090");
  EXPECT_EQ(config->body_limit_bytes, 1u << 20);
  EXPECT_EQ(config->read_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(config->shutdown_grace, std::chrono::seconds(2));
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->log_format, "json");
  EXPECT_EQ(config->file, file);
  EXPECT_EQ(config->file_text, kFullFile);
}

TEST(ConfigTest, EnvironmentOverridesFile) {
  TempDir dir;
  std::string file = dir.Write("tidemark.yml", kFullFile);
  auto config = LoadConfig({.config_file = file}, Env({{"TIDEMARK_DB", "sqlite:/data/t.db"},
                                                       {"TIDEMARK_LISTEN", "127.0.0.1:7000"},
                                                       {"TIDEMARK_LOG_LEVEL", "warn"},
                                                       {"TIDEMARK_LOG_FORMAT", "text"}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "sqlite:/data/t.db");
  EXPECT_EQ(config->listen, "127.0.0.1:7000");
  EXPECT_EQ(config->log_level, "warn");
  EXPECT_EQ(config->log_format, "text");
  EXPECT_EQ(config->body_limit_bytes, 1u << 20);  // only in the file: kept
}

TEST(ConfigTest, FlagsOverrideEnvironment) {
  TempDir dir;
  std::string file = dir.Write("tidemark.yml", kFullFile);
  ConfigOverrides flags{.config_file = file,
                        .db = "sqlite::memory:",
                        .listen = "127.0.0.1:0",
                        .log_level = "error",
                        .log_format = "json"};
  auto config = LoadConfig(flags, Env({{"TIDEMARK_DB", "sqlite:/data/t.db"},
                                       {"TIDEMARK_LISTEN", "127.0.0.1:7000"},
                                       {"TIDEMARK_LOG_LEVEL", "warn"},
                                       {"TIDEMARK_LOG_FORMAT", "text"}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "sqlite::memory:");
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_EQ(config->log_level, "error");
  EXPECT_EQ(config->log_format, "json");
}

TEST(ConfigTest, ConfigFileCanComeFromEnvironment) {
  TempDir dir;
  std::string from_env = dir.Write("env.yml", "db: sqlite:env.db\n");
  std::string from_flag = dir.Write("flag.yml", "db: sqlite:flag.db\n");
  auto config = LoadConfig({}, Env({{"TIDEMARK_CONFIG", from_env}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "sqlite:env.db");

  config = LoadConfig({.config_file = from_flag}, Env({{"TIDEMARK_CONFIG", from_env}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->db, "sqlite:flag.db");
}

TEST(ConfigTest, BadValueNamesFileLineAndKey) {
  auto status = ParseError(
      "# line 1\n"
      "db: sqlite:./t.db\n"
      "\n"
      "log:\n"
      "  level: info\n"
      "server:\n"
      "  listen: abc\n");
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_EQ(Described(status), R"(tidemark.yml:7: server.listen: expected host:port, got "abc")");
}

TEST(ConfigTest, UnknownKeyNamesKeyAndLine) {
  auto status = ParseError("db: sqlite:t.db\nserer:\n  listen: 127.0.0.1:1\n");
  EXPECT_EQ(status.where(), "tidemark.yml:2");
  EXPECT_NE(status.message().find(R"(unknown key "serer")"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("server"), std::string::npos) << "should list valid keys";
}

TEST(ConfigTest, UnknownNestedKeyNamesItsFullPath) {
  auto status = ParseError("server:\n  listen: 127.0.0.1:1\n  lissten: 127.0.0.1:2\n");
  EXPECT_EQ(status.where(), "tidemark.yml:3");
  EXPECT_NE(status.message().find(R"(unknown key "server.lissten")"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("listen, body_limit, read_timeout, shutdown_grace"),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, WrongTypesAreErrors) {
  auto status = ParseError("server: 8080\n");
  EXPECT_EQ(Described(status),
            "tidemark.yml:1: server: expected a mapping of keys (listen, body_limit, "
            "read_timeout, shutdown_grace), got a single value");

  status = ParseError("log:\n  level: [info, debug]\n");
  EXPECT_EQ(Described(status), "tidemark.yml:2: log.level: expected a single value, got a list");

  status = ParseError("db:\n");
  EXPECT_EQ(Described(status), "tidemark.yml:1: db: expected a single value, got nothing");

  status = ParseError("- db\n- server\n");
  EXPECT_EQ(status.where(), "tidemark.yml:1");
}

TEST(ConfigTest, BadValuesAreErrors) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"server:\n  listen: 127.0.0.1:70000\n", "server.listen: expected host:port"},
      {"server:\n  listen: :8080\n", "server.listen: expected host:port"},
      {"server:\n  listen: ::1:8080\n", "server.listen: expected host:port"},
      {"db: mysql://db/x\n", "db: expected sqlite:PATH or postgresql://..."},
      {"db: ./bare/path.db\n", "db: expected sqlite:PATH or postgresql://..."},
      {"log:\n  level: loud\n", "log.level: expected one of trace, debug"},
      {"log:\n  format: xml\n", "log.format: expected text or json"},
      {"server:\n  body_limit: lots\n", "server.body_limit: expected a size"},
      {"server:\n  body_limit: 0\n", "server.body_limit: expected a size"},
      {"server:\n  read_timeout: 0s\n", "server.read_timeout: expected a positive duration"},
      {"server:\n  shutdown_grace: 10 minutes\n", "server.shutdown_grace: expected a duration"},
      {"openlineage:\n  retention: 0\n", "openlineage.retention: expected a duration of at least 1m"},
      {"openlineage:\n  retention: 30s\n", "openlineage.retention: expected a duration of at least 1m"},
      {"openlineage:\n  retention: a week\n", "openlineage.retention: expected a duration"},
      {"openlineage:\n  retention: 7w\n", "openlineage.retention: expected a duration"},
  };
  for (const Case& c : cases) {
    auto status = ParseError(c.yaml);
    EXPECT_TRUE(status.IsInvalidArgument()) << c.yaml;
    EXPECT_EQ(status.message().rfind(c.expected, 0), 0u) << status.message();
  }
}

TEST(ConfigTest, SizesAndDurationsTakeUnits) {
  auto config = ParseConfig(
      "server:\n  body_limit: 512KiB\n  read_timeout: 2m\n  shutdown_grace: 0\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->body_limit_bytes, 512u * 1024);
  EXPECT_EQ(config->read_timeout, std::chrono::minutes(2));
  EXPECT_EQ(config->shutdown_grace, std::chrono::milliseconds(0));

  config = ParseConfig("server:\n  body_limit: 2 MB\n  read_timeout: 45\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->body_limit_bytes, 2'000'000u);
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(45));
}

TEST(ConfigTest, OpenLineageRetentionTakesHoursAndDays) {
  auto config = ParseConfig("openlineage:\n  retention: 36h\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->openlineage_retention, std::chrono::hours(36));
  config = ParseConfig("openlineage:\n  retention: 30d\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->openlineage_retention, std::chrono::hours(24 * 30));
  auto status = ParseError("openlineage:\n  keep: 7d\n");
  EXPECT_NE(status.message().find(R"(unknown key "openlineage.keep")"), std::string::npos)
      << status.message();
}

TEST(ConfigTest, ProjectorPriorityIsBackgroundUnlessSaidNormal) {
  auto config = ParseConfig("db: sqlite:x.db\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->openlineage_background);
  config = ParseConfig("openlineage:\n  projector_priority: normal\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_FALSE(config->openlineage_background);
  auto status = ParseError("openlineage:\n  projector_priority: low\n");
  EXPECT_NE(status.message().find(R"(expected background or normal, got "low")"),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, InvalidYamlNamesLine) {
  auto status = ParseError("db: sqlite:t.db\nserver:\n  listen: [127.0.0.1:1\n");
  EXPECT_EQ(status.where().rfind("tidemark.yml:", 0), 0u) << status.where();
  EXPECT_NE(status.where(), "tidemark.yml") << "a line number is expected";
  EXPECT_EQ(status.message().rfind("invalid YAML: ", 0), 0u) << status.message();
}

TEST(ConfigTest, EnvironmentErrorsNameTheVariable) {
  auto config = LoadConfig({}, Env({{"TIDEMARK_LISTEN", "abc"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(Described(config.status()), R"(TIDEMARK_LISTEN: expected host:port, got "abc")");
}

TEST(ConfigTest, FlagErrorsNameTheFlag) {
  auto config = LoadConfig({.log_level = "chatty"}, Env());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().where(), "--log-level");
}

TEST(ConfigTest, DbErrorsDoNotEchoPasswords) {
  auto config = LoadConfig({}, Env({{"TIDEMARK_DB", "mysql://admin:hunter2@db/x"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().find("hunter2"), std::string::npos)
      << config.status().message();
}

TEST(ConfigTest, ReservedSectionsAreKeptForTheirOwners) {
  constexpr std::string_view kText =
      "sources:\n"
      "  - kind: dbt\n"
      "    path: ./target\n"
      "channels:\n"
      "  slack: {webhook: https://hooks.slack.com/services/T/B/X}\n"
      "report: {}\n";
  auto config = ParseConfig(kText, "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->sections, (std::vector<std::string>{"sources", "channels", "report"}));
  EXPECT_TRUE(config->HasSection("channels"));
  EXPECT_FALSE(config->HasSection("detectors"));
}

TEST(ConfigTest, MissingFileIsAnError) {
  TempDir dir;
  std::string missing = (dir.path() / "nope.yml").string();
  auto config = LoadConfig({.config_file = missing}, Env());
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(config.status().IsInvalidArgument());
  EXPECT_EQ(config.status().where(), missing);
}

TEST(ConfigTest, EmptyFileKeepsDefaults) {
  auto config = ParseConfig("# nothing yet\n", "t.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->listen, "127.0.0.1:8080");
}

TEST(ConfigTest, ParseHostPortHandlesNamesAndIpv6) {
  auto v4 = ParseHostPort("127.0.0.1:0");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 0);
  auto v6 = ParseHostPort("[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  EXPECT_TRUE(ParseHostPort("localhost:65535"));
  EXPECT_FALSE(ParseHostPort("localhost:65536"));
  EXPECT_FALSE(ParseHostPort("localhost"));
  EXPECT_FALSE(ParseHostPort("localhost:http"));
  EXPECT_FALSE(ParseHostPort("[]:80"));
}

}  // namespace
}  // namespace tidemark::ui
