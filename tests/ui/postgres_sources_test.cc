#include "postgres_sources.h"

#include <gtest/gtest.h>

#include <map>

namespace tidemark::ui {
namespace {

Config WithFile(const std::string& text) {
  auto config = ParseConfig(text, "tidemark.yml");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  Config c = config.ok() ? *config : Config{};
  c.file = "tidemark.yml";
  c.file_text = text;
  return c;
}

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(PostgresSourcesTest, ReadsEveryKey) {
  Config c = WithFile(
      "db: sqlite:x.db\n"
      "sources:\n"
      "  postgres:\n"
      "    - name: warehouse\n"
      "      dsn_env: WAREHOUSE_DSN\n"
      "      namespace: postgres://db:5432\n"
      "      include_schemas: [marts, staging]\n"
      "      exclude_schemas: scratch\n"
      "      tables: [\"marts.*\"]\n"
      "      exclude_tables: [\"*_tmp\"]\n"
      "      loaded_at: {marts.orders: loaded_at}\n"
      "      exact_count_below: 5000\n"
      "      statement_timeout: 10s\n"
      "      lock_timeout: 500ms\n"
      "      schedule: 15m\n");
  auto sources = PostgresSourcesFrom(c, Env({{"WAREHOUSE_DSN", "postgresql://u:pw@db/analytics"}}));
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 1u);
  const auto& s = (*sources)[0];
  EXPECT_EQ(s.name, "warehouse");
  EXPECT_EQ(s.dsn, "postgresql://u:pw@db/analytics");
  EXPECT_EQ(s.ns, "postgres://db:5432");
  EXPECT_EQ(s.include_schemas, (std::vector<std::string>{"marts", "staging"}));
  EXPECT_EQ(s.exclude_schemas, (std::vector<std::string>{"scratch"}));
  EXPECT_EQ(s.tables, (std::vector<std::string>{"marts.*"}));
  EXPECT_EQ(s.exclude_tables, (std::vector<std::string>{"*_tmp"}));
  EXPECT_EQ(s.loaded_at.at("marts.orders"), "loaded_at");
  EXPECT_EQ(s.exact_count_below, 5000);
  EXPECT_EQ(s.statement_timeout, std::chrono::seconds(10));
  EXPECT_EQ(s.lock_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(s.schedule, "15m");
}

TEST(PostgresSourcesTest, ErrorsNameTheKeyAndLineButNeverThePassword) {
  Config c = WithFile(
      "sources:\n"
      "  postgres:\n"
      "    - name: warehouse\n"
      "      dsn: postgresql://u:s3cret@db/analytics\n"
      "      statment_timeout: 10s\n");
  auto sources = PostgresSourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.status().where(), "tidemark.yml:5");
  EXPECT_NE(sources.status().message().find("sources.postgres[0].statment_timeout"), std::string::npos)
      << sources.status().message();
  EXPECT_EQ(sources.status().ToString().find("s3cret"), std::string::npos);

  c = WithFile("sources:\n  postgres:\n    - name: a\n");
  sources = PostgresSourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_NE(sources.status().message().find("sources.postgres[0].dsn: required"), std::string::npos);
  EXPECT_EQ(sources.status().where(), "tidemark.yml:3");
}

TEST(PostgresSourcesTest, AbsentSectionIsNoSources) {
  auto sources = PostgresSourcesFrom(WithFile("db: sqlite:x.db\n"), Env({}));
  ASSERT_TRUE(sources.ok());
  EXPECT_TRUE(sources->empty());
}

}  // namespace
}  // namespace tidemark::ui
