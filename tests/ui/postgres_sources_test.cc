#include "postgres_sources.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>

#include "catalog/test_stores.h"

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

  c = WithFile("sources:\n  postgres:\n    - name: a\n      dsn: postgresql://db/x\n"
               "      schedule: every day\n");
  sources = PostgresSourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.status().message(),
            "sources.postgres[0].schedule: expected an interval such as 15m, 1h or 30s");
  EXPECT_EQ(sources.status().where(), "tidemark.yml:5");
  EXPECT_EQ(PostgresScheduleInterval("1h"), std::chrono::hours(1));
  EXPECT_EQ(PostgresScheduleInterval("0s"), std::nullopt);
}

TEST(PostgresSourcesTest, AbsentSectionIsNoSources) {
  auto sources = PostgresSourcesFrom(WithFile("db: sqlite:x.db\n"), Env({}));
  ASSERT_TRUE(sources.ok());
  EXPECT_TRUE(sources->empty());
}

// `serve` collects a warehouse with a schedule again and again: a column added to a real
// table between collections shows up without anyone running `collect postgres`.
TEST(PostgresCollectScheduleTest, CollectsScheduledSourcesAgainOnTheirInterval) {
  TM_REQUIRE_PG();
  using namespace std::chrono_literals;
  catalog::testing::ScratchPgDatabase warehouse;
  auto exec = [&](const std::string& sql) {
    pqxx::connection c(warehouse.url());
    pqxx::nontransaction tx(c);
    return tx.exec(sql);
  };
  exec("CREATE SCHEMA shop; CREATE TABLE shop.orders (id int); INSERT INTO shop.orders VALUES (1);");
  const std::string database = exec("SELECT current_database()")[0][0].c_str();
  auto store = catalog::OpenStore({.url = "sqlite::memory:"});
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  collector::PostgresSourceOptions scheduled;
  scheduled.name = "warehouse";
  scheduled.dsn = warehouse.url();
  scheduled.ns = "postgres://warehouse:5432";
  scheduled.include_schemas = {"shop"};
  scheduled.schedule = "200ms";
  collector::PostgresSourceOptions manual = scheduled;
  manual.name = "manual";
  manual.schedule.clear();
  const model::AssetKey orders{"postgres://warehouse:5432", database + ".shop.orders"};
  auto column_count = [&] {
    auto columns = (*store)->GetColumns(orders);
    return columns.ok() ? columns->size() : 0;
  };

  PostgresCollectSchedule schedule(**store, {scheduled, manual});
  EXPECT_EQ(schedule.scheduled(), 1u);
  EXPECT_EQ(schedule.WaitForRuns("manual", 1, 10ms), 0u) << "no schedule: never collected";
  ASSERT_GE(schedule.WaitForRuns("warehouse", 1, 20s), 1u);
  EXPECT_EQ(column_count(), 1u);

  exec("ALTER TABLE shop.orders ADD COLUMN amount numeric");
  // Two more: the second of them surely started after the change.
  const size_t runs = schedule.WaitForRuns("warehouse", 1, 0ms);
  ASSERT_GE(schedule.WaitForRuns("warehouse", runs + 2, 20s), runs + 2);
  EXPECT_EQ(column_count(), 2u);
  auto history = (*store)->GetSchemaHistory(orders);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 2u) << "one snapshot per schema, not one per collection";
}

}  // namespace
}  // namespace tidemark::ui
