// CollectPostgres against a real PostgreSQL warehouse: a scratch database whose tables the
// test creates, collects, changes (rows, columns) and collects again, checking the points,
// snapshots and checkpoints recorded in a real store (SQLite and PostgreSQL).

#include "tidemark/collector/postgres_stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "catalog/test_stores.h"

namespace tidemark::collector {
namespace {

using model::AssetKey;
using namespace std::chrono_literals;

const model::Timestamp kT0 = *model::ParseTimestamp("2026-11-22T06:00:00Z");

template <typename Factory>
class PostgresStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kT0);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    warehouse_ = std::make_unique<catalog::testing::ScratchPgDatabase>();
    Exec("CREATE SCHEMA shop; CREATE SCHEMA scratch;"
         "CREATE TABLE shop.orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, loaded_at timestamptz);"
         "INSERT INTO shop.orders VALUES (1, 10, '2026-11-21T10:00:00Z'), (2, 20, '2026-11-21T11:00:00Z'),"
         "  (3, 30, '2026-11-21T12:30:00Z');"
         "CREATE TABLE shop.customers (id int, email text);"
         "INSERT INTO shop.customers VALUES (1, 'a@x'), (2, 'b@x');"
         "CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 15;"
         "CREATE TABLE scratch.tmp (x int);");
    WaitForInserts("customers", 2);
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  void Exec(const std::string& sql) {
    pqxx::connection c(warehouse_->url());
    pqxx::nontransaction tx(c);
    tx.exec(sql);
    tx.exec("SELECT pg_stat_force_next_flush()");
  }
  // Table statistics reach pg_stat_user_tables asynchronously: wait until they show.
  void WaitForInserts(const std::string& table, long long n) {
    for (int i = 0; i < 100; ++i) {
      pqxx::connection c(warehouse_->url());
      pqxx::nontransaction tx(c);
      auto r = tx.exec1("SELECT coalesce(sum(n_tup_ins), 0)::int8 FROM pg_stat_user_tables "
                        "WHERE schemaname = 'shop' AND relname = " + tx.quote(table));
      if (r[0].as<long long>() >= n) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "statistics of " << table << " never showed " << n << " inserts";
  }
  PostgresSourceOptions Options() {
    PostgresSourceOptions o;
    o.name = "warehouse";
    o.dsn = warehouse_->url();
    o.exclude_schemas = {"scratch"};
    o.loaded_at = {{"shop.orders", "loaded_at"}};
    o.clock = clock_.get();
    return o;
  }
  PostgresCollectReport MustCollect(const PostgresSourceOptions& o) {
    auto r = CollectPostgres(*store_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : PostgresCollectReport{};
  }
  std::vector<double> Series(const AssetKey& key, const std::string& metric) {
    auto s = store_->ReadSeries(key, metric, kT0 - 24h, kT0 + 24h);
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->values : std::vector<double>{};
  }
  AssetKey Key(const PostgresCollectReport& r, const std::string& table) {
    return {r.ns, r.database + "." + table};
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<catalog::testing::ScratchPgDatabase> warehouse_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteMemoryFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(PostgresStatsTest, Backends, catalog::testing::FactoryNames);

TYPED_TEST(PostgresStatsTest, RecordsColumnsCountsSizesAndChangesBetweenCollections) {
  PostgresCollectReport first = this->MustCollect(this->Options());
  EXPECT_EQ(first.tables, 3u) << first.ToJson();
  EXPECT_TRUE(first.warnings.empty()) << first.ToJson();
  EXPECT_EQ(first.ns.rfind("postgres://", 0), 0u) << first.ns;
  const AssetKey orders = this->Key(first, "shop.orders");
  const AssetKey customers = this->Key(first, "shop.customers");
  auto asset = this->store_->GetAsset(orders);
  ASSERT_TRUE(asset.ok()) << orders.ToString();
  EXPECT_EQ(asset->kind, model::AssetKind::kTable);
  EXPECT_EQ(asset->schema, "shop");
  auto view = this->store_->GetAsset(this->Key(first, "shop.big_orders"));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->kind, model::AssetKind::kView);
  EXPECT_FALSE(this->store_->GetAsset(this->Key(first, "scratch.tmp")).ok()) << "excluded schema";

  auto columns = this->store_->GetColumns(orders);
  ASSERT_TRUE(columns.ok());
  ASSERT_EQ(columns->size(), 3u);
  EXPECT_EQ((*columns)[0].name, "id");
  EXPECT_EQ((*columns)[1].data_type, "numeric");
  EXPECT_EQ((*columns)[1].nullable, false);

  EXPECT_EQ(this->Series(orders, "row_count"), std::vector<double>{3});
  EXPECT_EQ(this->Series(customers, "row_count"), std::vector<double>{2});
  ASSERT_EQ(this->Series(orders, "bytes").size(), 1u);
  EXPECT_GT(this->Series(orders, "bytes")[0], 0);
  // loaded_at configured: the newest row's time.
  EXPECT_EQ(this->Series(orders, "last_modified"),
            std::vector<double>{static_cast<double>(
                model::ToMicros(*model::ParseTimestamp("2026-11-21T12:30:00Z")) / 1000000)});
  // Counters: nothing to compare with on the first collection.
  EXPECT_TRUE(this->Series(customers, "last_modified").empty());

  // Change the warehouse: rows into customers, a column into orders.
  this->Exec("INSERT INTO shop.customers SELECT g, 'c' || g FROM generate_series(3, 7) g;"
             "ALTER TABLE shop.orders ADD COLUMN status text;");
  this->WaitForInserts("customers", 7);
  this->clock_->Set(kT0 + 1h);
  PostgresCollectReport second = this->MustCollect(this->Options());
  EXPECT_EQ(second.changes_detected, 1u) << second.ToJson();
  const double t1 = static_cast<double>(model::ToMicros(kT0 + 1h)) / 1e6;
  EXPECT_EQ(this->Series(customers, "row_count"), (std::vector<double>{2, 7}));
  EXPECT_EQ(this->Series(customers, "last_modified"), std::vector<double>{t1});
  EXPECT_EQ(this->Series(customers, "update"), std::vector<double>{5});
  auto history = this->store_->GetSchemaHistory(orders);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(history->back().columns.back().name, "status");
  auto customer_history = this->store_->GetSchemaHistory(customers);
  ASSERT_TRUE(customer_history.ok());
  EXPECT_EQ(customer_history->size(), 1u) << "unchanged columns, no new snapshot";

  // Nothing changes: the last change stays where it was.
  this->clock_->Set(kT0 + 2h);
  PostgresCollectReport third = this->MustCollect(this->Options());
  EXPECT_EQ(third.changes_detected, 0u);
  EXPECT_EQ(this->Series(customers, "last_modified"), (std::vector<double>{t1, t1}));
}

TYPED_TEST(PostgresStatsTest, EstimatesAboveTheThresholdAndWarnsPerTable) {
  PostgresSourceOptions o = this->Options();
  o.exact_count_below = 0;  // every table estimated
  o.tables = {"shop.*"};
  o.exclude_tables = {"big_*"};
  o.loaded_at["shop.customers"] = "no_such_column";
  PostgresCollectReport r = this->MustCollect(o);
  EXPECT_EQ(r.tables, 2u);
  EXPECT_EQ(r.exact_counts, 0u);
  EXPECT_EQ(r.estimated_counts, 2u);
  ASSERT_EQ(r.warnings.size(), 1u) << r.ToJson();
  EXPECT_EQ(r.warnings[0].table, "shop.customers");
  EXPECT_NE(r.warnings[0].message.find("no_such_column"), std::string::npos);
  EXPECT_EQ(this->Series(this->Key(r, "shop.orders"), "row_count").size(), 1u);
}

TYPED_TEST(PostgresStatsTest, UnreachableWarehouseNamesTheSourceNotThePassword) {
  PostgresSourceOptions o = this->Options();
  o.dsn = "postgresql://tidemark:s3cret-pw@127.0.0.1:1/nothing?connect_timeout=2";
  auto r = CollectPostgres(*this->store_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(r.status().ToString().find("s3cret-pw"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().where().find("warehouse"), std::string::npos);
}

TEST(GlobMatchTest, StarsAndQuestionMarks) {
  EXPECT_TRUE(GlobMatch("shop.*", "shop.orders"));
  EXPECT_TRUE(GlobMatch("*_tmp", "orders_tmp"));
  EXPECT_TRUE(GlobMatch("o?ders", "orders"));
  EXPECT_FALSE(GlobMatch("shop.*", "marts.orders"));
  EXPECT_FALSE(GlobMatch("orders", "orders2"));
  EXPECT_TRUE(GlobMatch("*", ""));
}

}  // namespace
}  // namespace tidemark::collector
