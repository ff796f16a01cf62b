#include "sources.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

TEST(SourcesTest, ReadsEveryKey) {
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
  auto sources = SourcesFrom(c, Env({{"WAREHOUSE_DSN", "postgresql://u:pw@db/analytics"}}));
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->postgres.size(), 1u);
  EXPECT_TRUE(sources->dbt.empty());
  const auto& s = sources->postgres[0];
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

TEST(SourcesTest, ErrorsNameTheKeyAndLineButNeverThePassword) {
  Config c = WithFile(
      "sources:\n"
      "  postgres:\n"
      "    - name: warehouse\n"
      "      dsn: postgresql://u:s3cret@db/analytics\n"
      "      statment_timeout: 10s\n");
  auto sources = SourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.status().where(), "tidemark.yml:5");
  EXPECT_NE(sources.status().message().find("sources.postgres[0].statment_timeout"), std::string::npos)
      << sources.status().message();
  EXPECT_EQ(sources.status().ToString().find("s3cret"), std::string::npos);

  c = WithFile("sources:\n  postgres:\n    - name: a\n");
  sources = SourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_NE(sources.status().message().find("sources.postgres[0].dsn: required"), std::string::npos);
  EXPECT_EQ(sources.status().where(), "tidemark.yml:3");

  c = WithFile("sources:\n  postgres:\n    - name: a\n      dsn: postgresql://db/x\n"
               "      schedule: every day\n");
  sources = SourcesFrom(c, Env({}));
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.status().message(),
            "sources.postgres[0].schedule: expected an interval such as 15m, 1h or 30s");
  EXPECT_EQ(sources.status().where(), "tidemark.yml:5");
  EXPECT_EQ(ScheduleInterval("1h"), std::chrono::hours(1));
  EXPECT_EQ(ScheduleInterval("0s"), std::nullopt);
}

TEST(SourcesTest, AbsentSectionIsNoSources) {
  auto sources = SourcesFrom(WithFile("db: sqlite:x.db\n"), Env({}));
  ASSERT_TRUE(sources.ok());
  EXPECT_TRUE(sources->empty());
}

TEST(DbtSourcesTest, ReadsEveryKeyAndResolvesPathsFromTheConfigFile) {
  Config c = WithFile(
      "sources:\n"
      "  dbt:\n"
      "    - name: analytics\n"
      "      path: dbt/target\n"
      "      namespace: postgres://db:5432\n"
      "      project: acme\n"
      "      schedule: 5m\n"
      "    - name: files\n"
      "      path: [/srv/a/manifest.json, /srv/a/run_results.json]\n");
  c.file = "/etc/tidemark/tidemark.yml";
  auto sources = SourcesFrom(c, Env({}));
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->dbt.size(), 2u);
  const DbtSource& a = sources->dbt[0];
  EXPECT_EQ(a.name, "analytics");
  EXPECT_EQ(a.paths, (std::vector<std::string>{"/etc/tidemark/dbt/target"}));
  EXPECT_EQ(a.ns, "postgres://db:5432");
  EXPECT_EQ(a.project, "acme");
  EXPECT_EQ(a.schedule, "5m");
  EXPECT_EQ(sources->dbt[1].paths,
            (std::vector<std::string>{"/srv/a/manifest.json", "/srv/a/run_results.json"}));
  EXPECT_TRUE(sources->dbt[1].schedule.empty());
}

TEST(DbtSourcesTest, ErrorsNameTheKeyAndLine) {
  auto error = [](const std::string& text) {
    auto sources = SourcesFrom(WithFile(text), Env({}));
    EXPECT_FALSE(sources.ok());
    return sources.ok() ? std::string() : sources.status().where() + ": " + sources.status().message();
  };
  EXPECT_EQ(error("sources:\n  dbt:\n    - name: a\n"),
            "tidemark.yml:3: sources.dbt[0].path: required (a target/ folder or files)");
  EXPECT_EQ(error("sources:\n  dbt:\n    - name: a\n      path: t\n      paths: u\n"),
            "tidemark.yml:5: unknown key 'sources.dbt[0].paths' (expected one of: name, path, "
            "namespace, project, schedule)");
  EXPECT_EQ(error("sources:\n  dbt:\n    - name: a\n      path: t\n      schedule: hourly\n"),
            "tidemark.yml:5: sources.dbt[0].schedule: expected an interval such as 15m, 1h or 30s");
  EXPECT_EQ(error("sources:\n  dbt: target\n"),
            "tidemark.yml:2: sources.dbt: expected a list of projects");
  EXPECT_EQ(error("sources:\n  snowflake: []\n"),
            "tidemark.yml:2: unknown key 'sources.snowflake' (expected one of: postgres, dbt)");
  // One name per source, whatever its kind: `collect` and the schedule find sources by name.
  EXPECT_EQ(error("sources:\n  postgres:\n    - name: a\n      dsn: postgresql://db/x\n"
                  "  dbt:\n    - name: a\n      path: t\n"),
            "tidemark.yml:6: sources.dbt[0].name: 'a' is used twice");
}

// `serve` looks at a dbt project's folder on its schedule: new artifacts are ingested, files
// with the sizes and times of the last collection are not even read, and a folder that cannot
// be read, or a broken manifest, fails that turn only and changes nothing stored.
TEST(CollectScheduleTest, IngestsADbtFolderWhenItsFilesChange) {
  using namespace std::chrono_literals;
  catalog::testing::TempDir dir;
  const auto shop = std::filesystem::path(TIDEMARK_TEST_SOURCE_DIR) / "tests/data/dbt/shop";
  const auto target = dir.path() / "target";
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir.path() / "s.db").string()});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto counts = [&] {
    auto c = (*store)->Counts();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : catalog::StoreCounts{};
  };

  DbtSource source;
  source.name = "shop";
  source.paths = {target.string()};
  source.schedule = "50ms";
  CollectSchedule schedule(**store, Sources{.postgres = {}, .dbt = {source}});
  ASSERT_EQ(schedule.scheduled(), 1u);
  // Waits for two more turns: the second surely started after what the test just did.
  auto two_more_turns = [&] {
    const size_t runs = schedule.TurnsOf("shop").runs;
    ASSERT_GE(schedule.WaitForRuns("shop", runs + 2, 20s), runs + 2);
  };
  ASSERT_GE(schedule.WaitForRuns("shop", 1, 20s), 1u);
  EXPECT_EQ(schedule.TurnsOf("shop").failed, 1u) << "the folder does not exist yet";

  std::filesystem::create_directories(target);
  std::filesystem::copy_file(shop / "manifest.json", target / "manifest.json");
  two_more_turns();
  EXPECT_EQ(schedule.TurnsOf("shop").collected, 1u);
  EXPECT_GE(schedule.TurnsOf("shop").unchanged, 1u);
  EXPECT_EQ(counts().assets, 10);
  EXPECT_EQ(counts().runs, 0);

  // The same size and time: taken for the same file, so not read (it would fail to parse).
  // Written aside and renamed into place, so no turn sees it with another time.
  const auto manifest = target / "manifest.json";
  const auto size = std::filesystem::file_size(manifest);
  const auto mtime = std::filesystem::last_write_time(manifest);
  const auto garbage = dir.path() / "garbage.json";
  { std::ofstream(garbage, std::ios::trunc) << std::string(size, '{'); }
  std::filesystem::last_write_time(garbage, mtime);
  std::filesystem::rename(garbage, manifest);
  two_more_turns();
  EXPECT_EQ(schedule.TurnsOf("shop").failed, 1u);
  // A new time: read, rejected whole, retried at every turn until the file is fixed.
  std::filesystem::last_write_time(manifest, mtime + 1s);
  two_more_turns();
  EXPECT_GE(schedule.TurnsOf("shop").failed, 2u);
  EXPECT_EQ(counts().assets, 10);

  std::filesystem::copy_file(shop / "manifest.json", manifest,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(shop / "run_results.json", target / "run_results.json");
  two_more_turns();
  EXPECT_EQ(schedule.TurnsOf("shop").collected, 2u);
  EXPECT_EQ(counts().runs, 1) << "the run of the new run_results.json";
  EXPECT_EQ(counts().assets, 10);
}

TEST(CollectScheduleTest, CollectsScheduledWarehousesAgainOnTheirInterval) {
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

  CollectSchedule schedule(**store, Sources{.postgres = {scheduled, manual}, .dbt = {}});
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
