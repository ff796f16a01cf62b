// PostgreSQL-only behaviour of the Store: what several instances sharing one database, and a
// database that goes away, must not break. The behaviour both stores share is in
// store_test.cc. Needs TIDEMARK_TEST_PG_URL, like the PostgreSQL half of that suite.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/test_stores.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {
namespace {

using model::AssetKey;
using model::Timestamp;
using std::chrono::seconds;

const Timestamp kT0 = model::FromMicros(1'790'000'000'000'000);

AssetKey Key(std::string name) { return AssetKey{"postgres://db:5432", std::move(name)}; }

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TM_REQUIRE_PG();
    db_ = std::make_unique<testing::ScratchPgDatabase>();
  }

  StoreOptions Options(int pool_size = 4) const {
    StoreOptions opts;
    opts.url = db_->url();
    opts.pool_size = pool_size;
    return opts;
  }

  std::unique_ptr<Store> MustOpen(const StoreOptions& opts) {
    auto store = OpenPostgresStore(opts);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs `sql` on the scratch database over a connection of its own.
  pqxx::result Sql(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work txn(conn);
    pqxx::result r = txn.exec(sql);
    txn.commit();
    return r;
  }

  std::unique_ptr<testing::ScratchPgDatabase> db_;
};

TEST_F(PostgresStoreTest, InstancesStartingTogetherMigrateOnce) {
  constexpr int kInstances = 6;
  std::latch start(kInstances);
  std::vector<Status> results(kInstances);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto store = OpenPostgresStore(Options(1));
      results[i] = store.ok() ? (*store)->Ping() : store.status();
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();

  pqxx::result versions = Sql("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(versions.size(), static_cast<pqxx::result::size_type>(kSchemaVersion));
  for (int v = 1; v <= kSchemaVersion; ++v) EXPECT_EQ(versions[v - 1][0].as<int>(), v);
  auto store = MustOpen(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->SchemaVersion().value_or(-1), kSchemaVersion);
}

// Debian's PostgreSQL (the tests' server) is built with lz4; pglz, the default, cost the
// event log a third of its append rate.
TEST_F(PostgresStoreTest, LargeValuesAreCompressedWithLz4) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store);
  pqxx::result r = Sql(
      "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a"
      " JOIN pg_class c ON c.oid = a.attrelid"
      " WHERE (c.relname, a.attname) IN (('lineage_events', 'body'), ('assets', 'properties'),"
      "   ('runs', 'properties'), ('node_results', 'properties'), ('schema_snapshots', 'columns'))"
      " ORDER BY 1");
  ASSERT_EQ(r.size(), 5u);
  for (const auto& row : r) EXPECT_EQ(row[1].as<std::string>(), "l") << row[0].as<std::string>();
  // And a value written since is stored so.
  model::Asset a;
  a.key = {"postgres://db:5432", "analytics.public.wide"};
  a.kind = model::AssetKind::kTable;
  a.source = "test";
  std::string big = "{\"text\": \"";
  for (int i = 0; i < 4000; ++i) big += "column_" + std::to_string(i % 50) + " ";
  big += "\"}";
  a.properties = big;
  WriteBatch batch;
  batch.PutAsset(a);
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(Sql("SELECT pg_column_compression(properties) FROM assets")[0][0].as<std::string>(),
            "lz4");
}

TEST_F(PostgresStoreTest, OpeningWithoutMigrateLeavesAnEmptyDatabaseAlone) {
  StoreOptions opts = Options();
  opts.migrate = false;
  auto store = MustOpen(opts);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->SchemaVersion().value_or(-1), 0);
  EXPECT_TRUE(Sql("SELECT to_regclass('assets')")[0][0].is_null());

  auto report = Migrate(Options());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->from, 0);
  EXPECT_EQ(report->to, kSchemaVersion);
}

TEST_F(PostgresStoreTest, RefusesASchemaNewerThanThisBinary) {
  ASSERT_TRUE(MustOpen(Options()));
  const int newer = kSchemaVersion + 1;
  Sql("INSERT INTO schema_migrations VALUES (" + std::to_string(newer) + ", now())");

  for (bool migrate : {true, false}) {
    StoreOptions opts = Options();
    opts.migrate = migrate;
    auto store = OpenPostgresStore(opts);
    ASSERT_FALSE(store.ok()) << "migrate=" << migrate;
    EXPECT_EQ(store.status().code(), model::StatusCode::kCorruption);
    EXPECT_NE(store.status().message().find("database schema version " + std::to_string(newer) +
                                            " is newer than this binary's (" +
                                            std::to_string(kSchemaVersion) + "); upgrade tidemark"),
              std::string::npos)
        << store.status().ToString();
  }
  EXPECT_EQ(Migrate(Options()).status().code(), model::StatusCode::kCorruption);
}

TEST_F(PostgresStoreTest, TwoInstancesClaimingAlertsNeverShareOne) {
  auto first = MustOpen(Options());
  auto second = MustOpen(Options());
  ASSERT_TRUE(first && second);
  constexpr int kAlerts = 600;
  WriteBatch b;
  for (int i = 0; i < kAlerts; ++i) {
    model::Alert a;
    a.id = "alert-" + std::to_string(i);
    a.incident_id = "inc-1";
    a.channel = "slack";
    a.event = "opened";
    a.idempotency_key = "inc-1:opened:slack:" + std::to_string(i);
    a.created_at = a.next_attempt_at = kT0;
    b.EnqueueAlert(a);
  }
  ASSERT_TRUE(first->Write(b).ok());

  // Four workers, two per instance, each claiming small batches until none is left.
  constexpr int kWorkers = 4;
  std::vector<std::vector<model::Alert>> claimed(kWorkers);
  std::atomic<int> errors{0};
  std::latch start(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      Store& store = w % 2 ? *second : *first;
      const std::string worker = "worker-" + std::to_string(w);
      start.arrive_and_wait();
      while (true) {
        auto batch = store.ClaimAlerts(worker, 5, kT0, seconds(300));
        if (!batch.ok()) {
          ++errors;
          return;
        }
        if (batch->empty()) return;
        claimed[w].insert(claimed[w].end(), batch->begin(), batch->end());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);

  std::set<std::string> ids;
  size_t total = 0;
  for (int w = 0; w < kWorkers; ++w) {
    for (const model::Alert& a : claimed[w]) {
      EXPECT_EQ(a.lease_owner, "worker-" + std::to_string(w));
      EXPECT_EQ(a.lease_expires_at, kT0 + seconds(300));
      EXPECT_EQ(a.attempts, 0) << "claiming is not an attempt";
      ids.insert(a.id);
    }
    total += claimed[w].size();
  }
  EXPECT_EQ(total, static_cast<size_t>(kAlerts)) << "an alert was claimed twice";
  EXPECT_EQ(ids.size(), static_cast<size_t>(kAlerts)) << "an alert was never claimed";
  EXPECT_TRUE(second->ClaimAlerts("late", 10, kT0, seconds(300))->empty());
}

// Transact retries a call once on a fresh connection when its connection turns out broken,
// so an administrator killing every backend (or a server restart) costs callers nothing.
TEST_F(PostgresStoreTest, ReconnectsAfterItsConnectionsAreTerminated) {
  auto store = MustOpen(Options(3));
  ASSERT_TRUE(store);
  model::Asset orders;
  orders.key = Key("marts.orders");
  WriteBatch b;
  b.PutAsset(orders);
  ASSERT_TRUE(store->Write(b).ok());

  // Open all three pooled connections, then kill them.
  std::latch start(3);
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      start.arrive_and_wait();
      for (int j = 0; j < 20; ++j) EXPECT_TRUE(store->GetAsset(Key("marts.orders")).ok());
    });
  }
  for (auto& t : readers) t.join();
  pqxx::result killed =
      Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
          " WHERE datname = current_database() AND application_name = 'tidemark'"
          "   AND pid <> pg_backend_pid()");
  EXPECT_GE(killed.size(), 1);

  EXPECT_TRUE(store->Ping().ok());
  auto asset = store->GetAsset(Key("marts.orders"));
  EXPECT_TRUE(asset.ok()) << asset.status().ToString();
  WriteBatch more;
  more.AppendMetricPoint({Key("marts.orders"), "row_count", kT0, 42});
  auto written = store->Write(more);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->points_written, 1u);
}

TEST(PostgresStoreOpenTest, UnreachableServerIsUnavailableAndHidesThePassword) {
  StoreOptions opts;
  opts.url = "postgresql://tidemark:secret@127.0.0.1:1/tidemark";  // nothing listens on port 1
  auto store = OpenPostgresStore(opts);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsUnavailable()) << store.status().ToString();
  EXPECT_EQ(store.status().ToString().find("secret"), std::string::npos);

  opts.url = "sqlite::memory:";
  EXPECT_TRUE(OpenPostgresStore(opts).status().IsInvalidArgument());
}

TEST_F(PostgresStoreTest, DescribeHidesThePasswordAndSessionsAreNamed) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Kind(), "postgresql");
  const std::string password = ":tidemark@";
  EXPECT_EQ(store->Describe().find(password), std::string::npos) << store->Describe();
  EXPECT_NE(store->Describe().find(":***@"), std::string::npos) << store->Describe();
  ASSERT_TRUE(store->Ping().ok());
  EXPECT_GE(Sql("SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'tidemark'")
                .size(),
            1);
}

// Points go in as arrays, kPointsPerStatement (10k) per statement: counts must add up across
// statement boundaries, with duplicates inside one batch and against stored points.
TEST_F(PostgresStoreTest, BulkPointsCountWrittenAndSkippedAcrossStatements) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store);
  constexpr int kPoints = 25'000;
  WriteBatch b;
  for (int i = 0; i < kPoints; ++i) {
    const AssetKey key = Key("t" + std::to_string(i % 7));
    b.AppendMetricPoint(
        {key, i % 2 ? "row_count" : "null_rate:\"quoted\"\\", kT0 + seconds(i / 14), 0.1 * i});
  }
  for (int i = 0; i < 100; ++i) b.AppendMetricPoint(b.points()[i * 13]);  // repeats
  auto first = store->Write(b);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->points_written, static_cast<size_t>(kPoints));
  EXPECT_EQ(first->points_skipped, 100u);
  EXPECT_EQ(first->assets_written, 7u) << "one placeholder per asset";

  auto again = store->Write(b);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->points_written, 0u);
  EXPECT_EQ(again->points_skipped, static_cast<size_t>(kPoints + 100));

  auto series = store->ReadSeries(Key("t3"), "row_count", kT0, kT0 + seconds(kPoints));
  ASSERT_TRUE(series.ok());
  ASSERT_FALSE(series->values.empty());
  EXPECT_DOUBLE_EQ(series->values[0], 0.1 * 3);
  EXPECT_TRUE(std::is_sorted(series->ts.begin(), series->ts.end()));
  EXPECT_EQ(*store->ListMetrics(Key("t3")),
            (std::vector<std::string>{"null_rate:\"quoted\"\\", "row_count"}));
}

// Write applies each kind of write in key order, so two instances updating the same assets
// listed in opposite orders lock them in one order and never deadlock. (Without that ordering
// PostgreSQL aborts one writer after deadlock_timeout, 1 s; even with Transact's retries, about
// 40% of these writes failed and the test took two minutes.)
TEST_F(PostgresStoreTest, WritersLockingInOppositeOrdersBothSucceed) {
  auto first = MustOpen(Options(1));
  auto second = MustOpen(Options(1));
  ASSERT_TRUE(first && second);
  constexpr int kAssets = 20, kRounds = 40;
  std::latch start(2);
  std::atomic<int> failures{0};
  std::string first_error;
  auto writer = [&](Store& store, bool reversed) {
    start.arrive_and_wait();
    for (int round = 0; round < kRounds; ++round) {
      WriteBatch b;
      for (int i = 0; i < kAssets; ++i) {
        model::Asset a;
        a.key = Key("t" + std::to_string(reversed ? kAssets - 1 - i : i));
        a.description = (reversed ? "second " : "first ") + std::to_string(round);
        b.PutAsset(a);
      }
      auto r = store.Write(b);
      if (!r.ok() && failures++ == 0) first_error = r.status().ToString();
    }
  };
  std::thread t1(writer, std::ref(*first), false);
  std::thread t2(writer, std::ref(*second), true);
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
}

// A reindex inserts the postings new to a document without ON CONFLICT and repeats the insert
// with it only when the primary key is broken: here by a posting that stands in for one a
// concurrent transaction committed after this one loaded the document's old postings.
TEST_F(PostgresStoreTest, APostingAlreadyStoredByAnotherWriterDoesNotFailTheReindex) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store);
  auto describe = [&](const std::string& description) {
    WriteBatch b;
    model::Asset a;
    a.key = Key("shop.orders");
    a.description = description;
    b.PutAsset(a);
    return store->Write(b);
  };
  ASSERT_TRUE(describe("zebra crossings").ok());
  pqxx::result zebra =
      Sql("SELECT score, asset_id FROM search_postings WHERE term = 'zebra'");
  ASSERT_EQ(zebra.size(), 1u);
  const std::string score = zebra[0][0].c_str(), asset_id = zebra[0][1].c_str();
  ASSERT_TRUE(describe("horse crossings").ok());
  ASSERT_TRUE(Sql("SELECT 1 FROM search_postings WHERE term = 'zebra'").empty());
  Sql("INSERT INTO search_postings (term, score, asset_id) VALUES ('zebra', " + score + ", " +
      asset_id + ")");

  auto written = describe("zebra crossings again");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(Sql("SELECT 1 FROM search_postings WHERE term = 'zebra'").size(), 1u);
  EXPECT_EQ(Sql("SELECT 1 FROM search_postings WHERE term = 'again'").size(), 1u)
      << "the rest of the insert is repeated, not lost with the rolled-back statement";
  EXPECT_TRUE(Sql("SELECT 1 FROM search_postings WHERE term = 'horse'").empty());
  SearchQuery q;
  q.text = "zebra";
  auto found = store->Search(q);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->hits[0].key, Key("shop.orders"));
}

}  // namespace
}  // namespace tidemark::catalog
