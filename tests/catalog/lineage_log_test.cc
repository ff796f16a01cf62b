// The OpenLineage event log of catalog::Store (migration 4), on SQLite (file and memory) and
// PostgreSQL: appends are ordered and all-or-nothing, the projection checkpoint commits with
// the Write that carries it (and not when that Write fails), and pruning keeps what is not
// projected yet. On a SQLite file the log has a file of its own (sqlite_lineage_log.h):
// appends do not wait for the catalog's write lock, events an older store left in the
// catalog file move to it once, and a lost log file never reuses projected ids.

#include "tidemark/catalog/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "catalog/test_stores.h"
#include "tidemark/model/clock.h"

namespace tidemark::catalog {
namespace {

using namespace std::chrono_literals;

const model::Timestamp kT0 = model::Timestamp{} + std::chrono::hours(24 * 365 * 54);

LineageEvent Event(int n, model::Timestamp received) {
  LineageEvent e;
  e.received_at = received;
  e.event_time = received - 1s;
  e.run_id = n % 2 ? "" : "00000000-0000-4000-8000-" + std::string(11, '0') + std::to_string(n % 10);
  e.body = R"({"n":)" + std::to_string(n) + R"(,"text":"quote \" and backslash \\ and é"})";
  return e;
}

// The checkpoint write a projector adds to the batch it projected.
void MarkProjected(WriteBatch& batch, std::int64_t through) {
  batch.PutCheckpoint({std::string(kLineageLogScope), std::string(kLineageLogProjectedKey),
                       std::to_string(through), {}});
}

template <typename Factory>
class LineageLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, testing::PostgresFactory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kT0);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  std::vector<std::int64_t> Append(std::vector<LineageEvent> events) {
    auto ids = store_->AppendLineageEvents(events);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<std::int64_t>{};
  }
  LineageLogStatus Status() {
    auto s = store_->GetLineageLogStatus();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : LineageLogStatus{};
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<testing::SqliteFileFactory, testing::SqliteMemoryFactory,
                                  testing::PostgresFactory>;
TYPED_TEST_SUITE(LineageLogTest, Backends, testing::FactoryNames);

TYPED_TEST(LineageLogTest, AnEmptyLogHasNothingWaiting) {
  LineageLogStatus s = this->Status();
  EXPECT_EQ(s.last_id, 0);
  EXPECT_EQ(s.projected_through, 0);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_FALSE(s.oldest_waiting);
  auto read = this->store_->ReadLineageEvents(0, 10);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->empty());
}

TYPED_TEST(LineageLogTest, AppendsAreOrderedAndReadBackAsSent) {
  std::vector<LineageEvent> first = {Event(1, kT0), Event(2, kT0 + 1ms), Event(3, kT0 + 2ms)};
  std::vector<std::int64_t> a = this->Append(first);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), 3u);
  std::vector<std::int64_t> b = this->Append({Event(4, kT0 + 3ms)});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_GT(b[0], a.back());

  auto all = this->store_->ReadLineageEvents(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*all)[i].id, a[i]);
    EXPECT_EQ((*all)[i].body, first[i].body);
    EXPECT_EQ((*all)[i].run_id, first[i].run_id);
    EXPECT_EQ((*all)[i].received_at, first[i].received_at);
    EXPECT_EQ((*all)[i].event_time, first[i].event_time);
  }
  auto after = this->store_->ReadLineageEvents(a[1], 1);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, a[2]);

  LineageLogStatus s = this->Status();
  EXPECT_EQ(s.last_id, b[0]);
  EXPECT_EQ(s.waiting, 4);
  EXPECT_EQ(s.oldest_waiting, kT0);
}

TYPED_TEST(LineageLogTest, ConcurrentAppendsGetDistinctIdsInCommitOrder) {
  constexpr int kThreads = 4, kAppends = 15;
  std::vector<std::vector<std::int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        auto ids = this->store_->AppendLineageEvents({Event(i, kT0), Event(i + 1, kT0)});
        if (!ids.ok() || ids->size() != 2) continue;
        got[t].insert(got[t].end(), ids->begin(), ids->end());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::int64_t> all;
  for (const auto& ids : got) {
    EXPECT_EQ(ids.size(), 2u * kAppends);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));  // each thread's later appends
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 2u * kThreads * kAppends);
  EXPECT_EQ(this->Status().waiting, 2 * kThreads * kAppends);
}

TYPED_TEST(LineageLogTest, TheCheckpointCommitsWithItsBatchAndNotWithoutIt) {
  std::vector<std::int64_t> ids = this->Append({Event(1, kT0), Event(2, kT0 + 1s)});
  ASSERT_EQ(ids.size(), 2u);

  // A batch that fails (an asset with invalid properties) takes its checkpoint down with it.
  WriteBatch bad;
  model::Asset broken;
  broken.key = {"postgres://db:5432", "shop.public.orders"};
  broken.name = "orders";
  broken.properties = "{not json";
  bad.PutAsset(broken);
  MarkProjected(bad, ids[0]);
  EXPECT_FALSE(this->store_->Write(bad).ok());
  LineageLogStatus s = this->Status();
  EXPECT_EQ(s.projected_through, 0);
  EXPECT_EQ(s.waiting, 2);

  WriteBatch good;
  broken.properties = "{}";
  good.PutAsset(broken);
  MarkProjected(good, ids[0]);
  ASSERT_TRUE(this->store_->Write(good).ok());
  s = this->Status();
  EXPECT_EQ(s.projected_through, ids[0]);
  EXPECT_EQ(s.waiting, 1);
  EXPECT_EQ(s.oldest_waiting, kT0 + 1s);
  EXPECT_TRUE(this->store_->GetAsset(broken.key).ok());
}

TYPED_TEST(LineageLogTest, PruningDeletesOnlyOldProjectedEvents) {
  std::vector<std::int64_t> ids =
      this->Append({Event(1, kT0), Event(2, kT0 + 1s), Event(3, kT0 + 2s), Event(4, kT0 + 3s)});
  ASSERT_EQ(ids.size(), 4u);
  // Nothing projected: nothing goes, however old.
  auto pruned = this->store_->PruneLineageEvents(kT0 + 1h);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 0u);

  WriteBatch checkpoint;
  MarkProjected(checkpoint, ids[2]);
  ASSERT_TRUE(this->store_->Write(checkpoint).ok());
  // Projected through the third; only the first two are older than the cut.
  pruned = this->store_->PruneLineageEvents(kT0 + 1500ms);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 2u);
  auto left = this->store_->ReadLineageEvents(0, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].id, ids[2]);
  EXPECT_EQ((*left)[1].id, ids[3]);

  // Everything projected and pruned: ids still grow past the ones deleted.
  WriteBatch all;
  MarkProjected(all, ids[3]);
  ASSERT_TRUE(this->store_->Write(all).ok());
  pruned = this->store_->PruneLineageEvents(kT0 + 1h);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2u);
  LineageLogStatus s = this->Status();
  EXPECT_EQ(s.last_id, ids[3]);
  EXPECT_EQ(s.waiting, 0);
  std::vector<std::int64_t> next = this->Append({Event(5, kT0 + 4s)});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(next[0], ids[3]);
}


// A SQLite file store, reopened at will, and raw connections to its files: what another
// process (or an older tidemark) does to them.
class SqliteLogFileTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    StoreOptions options;
    options.url = "sqlite:" + CatalogPath();
    options.clock = &clock_;
    auto store = OpenStore(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::string CatalogPath() const { return (dir_.path() / "tidemark.db").string(); }
  std::string LogPath() const { return CatalogPath() + ".lineage"; }
  // Runs `sql` on a connection of its own to `path`; the first column of the first row.
  std::int64_t Sql(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) out = sqlite3_column_int64(stmt, 0);
      EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
  void Project(std::int64_t through) {
    WriteBatch batch;
    MarkProjected(batch, through);
    auto written = store_->Write(batch);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }

  testing::TempDir dir_;
  model::ManualClock clock_{kT0};
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteLogFileTest, AppendsGoToTheirOwnFileAndDoNotWaitForTheCatalogsWriteLock) {
  // Another connection holds the catalog file's write lock, as a projection batch does.
  sqlite3* catalog = nullptr;
  ASSERT_EQ(sqlite3_open(CatalogPath().c_str(), &catalog), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(catalog, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto start = std::chrono::steady_clock::now();
  auto ids = this->store_->AppendLineageEvents({Event(1, kT0), Event(2, kT0)});
  auto took = std::chrono::steady_clock::now() - start;
  sqlite3_exec(catalog, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(catalog);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_LT(took, 2s);  // the store's busy timeout is longer: it did not wait for the lock

  EXPECT_EQ(Sql(LogPath(), "SELECT count(*) FROM lineage_events"), 2);
  EXPECT_EQ(Sql(CatalogPath(), "SELECT count(*) FROM lineage_events"), 0);
  auto read = store_->ReadLineageEvents(0, 10);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].body, Event(2, kT0).body);
}

TEST_F(SqliteLogFileTest, EventsLeftInTheCatalogFileMoveToTheLogOnce) {
  std::vector<std::int64_t> ids = store_->AppendLineageEvents({Event(1, kT0)}).value();
  store_.reset();
  // As an older tidemark left them (ids 5 and 6), one of them already copied to the log by
  // an open that crashed before deleting it from the catalog.
  const std::string insert =
      "INSERT INTO lineage_events (id, received_at, event_time, run_id, body) VALUES ";
  Sql(CatalogPath(), insert + "(5, 1, 1, '', '{\"old\":5}'), (6, 2, 2, '', '{\"old\":6}')");
  Sql(LogPath(), insert + "(5, 1, 1, '', '{\"old\":5}')");
  Reopen();
  EXPECT_EQ(Sql(CatalogPath(), "SELECT count(*) FROM lineage_events"), 0);
  auto read = store_->ReadLineageEvents(0, 10);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].id, ids[0]);
  EXPECT_EQ((*read)[1].id, 5);
  EXPECT_EQ((*read)[2].id, 6);
  EXPECT_EQ((*read)[2].body, R"({"old":6})");
  // New ids follow the adopted ones.
  std::vector<std::int64_t> next = store_->AppendLineageEvents({Event(2, kT0)}).value();
  EXPECT_GT(next[0], 6);
}

TEST_F(SqliteLogFileTest, ALostLogFileNeverReusesProjectedIds) {
  std::vector<std::int64_t> ids =
      store_->AppendLineageEvents({Event(1, kT0), Event(2, kT0), Event(3, kT0)}).value();
  Project(ids[2]);
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(LogPath() + suffix);
  Reopen();
  std::vector<std::int64_t> next = store_->AppendLineageEvents({Event(4, kT0)}).value();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(next[0], ids[2]);  // else it would count as projected and never be
  auto status = store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->waiting, 1);
  EXPECT_EQ(status->projected_through, ids[2]);
}

TEST_F(SqliteLogFileTest, ACheckpointAndTheLogSurviveReopeningTogether) {
  std::vector<std::int64_t> ids =
      store_->AppendLineageEvents({Event(1, kT0), Event(2, kT0 + 1s), Event(3, kT0 + 2s)})
          .value();
  Project(ids[1]);
  Reopen();
  auto status = store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->projected_through, ids[1]);
  EXPECT_EQ(status->waiting, 1);
  EXPECT_EQ(status->oldest_waiting, kT0 + 2s);
  auto pruned = store_->PruneLineageEvents(kT0 + 1h);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Sql(LogPath(), "SELECT min(id) FROM lineage_events"), ids[2]);
}

// The log's WAL is copied into its file by a thread of the log's own, without waiting for a
// read (the projector may be starved by the requests) and outside the appends' commits.
TEST_F(SqliteLogFileTest, TheLogsWalIsCheckpointedWithoutAnyRead) {
  std::vector<LineageEvent> events;
  for (int i = 0; i < 100; ++i) {
    LineageEvent e = Event(i, kT0);
    e.body = R"({"pad":")" + std::string(40'000, 'x') + R"("})";
    events.push_back(std::move(e));
  }
  ASSERT_TRUE(store_->AppendLineageEvents(events).ok());  // 4 MB: past the 64 pages of 64 KiB
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::filesystem::file_size(LogPath()) < (4u << 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(std::filesystem::file_size(LogPath()), 4u << 20);
  auto read = store_->ReadLineageEvents(0, 200);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 100u);
}

}  // namespace
}  // namespace tidemark::catalog
