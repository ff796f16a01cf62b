// serve's copy of the search index in memory (catalog/src/memory_search.h): it answers what
// the store's tables answer, follows writes of its own store before Write returns and writes
// of another store on the same database within its poll, and loads again after a rebuild or
// when the change log was pruned past it. The ranking cases themselves run through it in
// search_test.cc (the MemorySearch backends).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "catalog/test_stores.h"
#include "tidemark/catalog/search.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {
namespace {

using model::AssetKey;
using model::AssetKind;

const model::Timestamp kT0 = *model::ParseTimestamp("2026-11-01T00:00:00Z");

AssetKey Key(const std::string& name) { return AssetKey{"postgres://wh:5432", "db.s." + name}; }

template <typename Factory>
class MemorySearchTest : public ::testing::Test {
 public:
  void SetUp() override {
    if constexpr (std::is_base_of_v<testing::PostgresFactory, Factory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kT0);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    // Another process's view of the same database, answering from its tables.
    StoreOptions opts;
    opts.url = factory_.url;
    opts.clock = clock_.get();
    auto other = OpenStore(opts);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_ = std::move(other).value();
  }
  void TearDown() override {
    store_.reset();
    other_.reset();
    factory_.Cleanup();
  }

  // Reopens the store under test with `poll` between looks at the change log.
  void Reopen(std::chrono::milliseconds poll) {
    store_.reset();
    StoreOptions opts = factory_.options;
    opts.url = factory_.url;
    opts.clock = clock_.get();
    opts.search_poll = poll;
    auto store = OpenStore(opts);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  static void Put(WriteBatch& b, const std::string& name, const std::string& description,
                  std::vector<std::string> columns = {}) {
    model::Asset a;
    a.key = Key(name);
    a.kind = AssetKind::kTable;
    a.name = name;
    a.description = description;
    a.source = "dbt";
    b.PutAsset(a);
    std::vector<model::Column> cols;
    int pos = 1;
    for (auto& c : columns) cols.push_back({c, pos++, "text", "", std::nullopt, {}, "{}"});
    if (!cols.empty()) b.SetColumns(a.key, cols);
  }

  static void Write(Store& store, const WriteBatch& b) {
    auto r = store.Write(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  static std::vector<std::string> Names(Store& store, const std::string& text,
                                        SearchQuery q = {}) {
    q.text = text;
    auto r = store.Search(q);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const SearchHit& h : r->hits) out.push_back(h.name);
    }
    return out;
  }

  SearchMemoryStatus Memory() {
    std::optional<SearchMemoryStatus> s = store_->SearchMemory();
    EXPECT_TRUE(s.has_value());
    return s.value_or(SearchMemoryStatus{});
  }

  // Polls `done` for up to 10 s.
  static bool WaitFor(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  // Rows of the change log, read with SQL.
  long long ChangeLogRows() {
    const char* sql = "SELECT count(*) FROM search_changes";
    if constexpr (std::is_base_of_v<testing::PostgresFactory, Factory>) {
      pqxx::connection c(factory_.url);
      pqxx::work tx(c);
      return tx.exec(sql)[0][0].template as<long long>();
    } else {
      sqlite3* db = nullptr;
      EXPECT_EQ(sqlite3_open((factory_.dir->path() / "tidemark.db").c_str(), &db), SQLITE_OK);
      sqlite3_stmt* s = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK);
      EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
      const long long n = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
      sqlite3_close(db);
      return n;
    }
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<Store> store_;  // answers from memory
  std::unique_ptr<Store> other_;  // the same database, answering from its tables
};

using Backends = ::testing::Types<testing::MemorySearchFactory<testing::SqliteFileFactory>,
                                  testing::MemorySearchFactory<testing::PostgresFactory>>;
TYPED_TEST_SUITE(MemorySearchTest, Backends, testing::FactoryNames);

TYPED_TEST(MemorySearchTest, AnswersFromMemoryOnceLoaded) {
  WriteBatch b;
  this->Put(b, "orders", "One row per order.", {"order_id"});
  this->Put(b, "payments", "Payments per order.", {"payment_id", "order_id"});
  this->Write(*this->store_, b);
  const SearchMemoryStatus before = this->Memory();
  EXPECT_TRUE(before.loaded);
  EXPECT_EQ(before.loads, 1);
  EXPECT_EQ(before.assets, 2);
  EXPECT_GT(before.terms, 10);
  EXPECT_TRUE(before.error.empty()) << before.error;
  EXPECT_EQ(this->Names(*this->store_, "order"), (std::vector<std::string>{"orders", "payments"}));
  auto suggested = this->store_->Suggest({"pay", 10});
  ASSERT_TRUE(suggested.ok()) << suggested.status().ToString();
  ASSERT_EQ(suggested->size(), 1u);
  EXPECT_EQ((*suggested)[0].name, "payments");
  EXPECT_EQ(this->Memory().searches, before.searches + 2);
  EXPECT_FALSE(this->other_->SearchMemory().has_value());
}

TYPED_TEST(MemorySearchTest, WriteThroughThisStoreIsSeenByTheNextSearch) {
  this->Reopen(std::chrono::hours(1));  // no polling: only its own commits catch it up
  for (int i = 0; i < 3; ++i) {
    WriteBatch b;
    this->Put(b, "fct_revenue_" + std::to_string(i), "Revenue by day.");
    this->Write(*this->store_, b);
    EXPECT_EQ(this->Names(*this->store_, "revenue").size(), static_cast<size_t>(i + 1));
  }
  EXPECT_EQ(this->Memory().changes_applied, 3);
}

TYPED_TEST(MemorySearchTest, WriteThroughAnotherStoreIsSeenAfterThePoll) {
  WriteBatch b;
  this->Put(b, "dim_planets", "One row per planet.");
  this->Write(*this->other_, b);
  EXPECT_TRUE(this->WaitFor([&] { return this->Names(*this->store_, "planets").size() == 1; }));
  EXPECT_GE(this->Memory().changes_applied, 1);
  EXPECT_GE(this->Memory().seq, 1);
}

TYPED_TEST(MemorySearchTest, RemovalAndRenameByAnotherStoreAreFollowed) {
  WriteBatch b;
  this->Put(b, "orders", "One row per order.");
  this->Put(b, "orders_daily", "Orders per day.");
  this->Write(*this->other_, b);
  ASSERT_TRUE(this->WaitFor([&] { return this->Names(*this->store_, "orders").size() == 2; }));
  EXPECT_EQ(this->Names(*this->store_, "orders")[0], "orders");

  WriteBatch removal;
  removal.MarkRemoved(Key("orders"));
  this->Write(*this->other_, removal);
  EXPECT_TRUE(this->WaitFor([&] {
    return this->Names(*this->store_, "orders") ==
           std::vector<std::string>{"orders_daily", "orders"};  // removed assets come last
  }));

  // Same key, new display name: the old name's words no longer find it.
  WriteBatch rename;
  model::Asset a;
  a.key = Key("orders_daily");
  a.kind = AssetKind::kTable;
  a.name = "sales_by_day";
  a.description = "Sales per day.";
  rename.PutAsset(a);
  this->Write(*this->other_, rename);
  EXPECT_TRUE(this->WaitFor([&] {
    return this->Names(*this->store_, "sales") == std::vector<std::string>{"sales_by_day"};
  }));
  EXPECT_EQ(this->Names(*this->store_, "daily"), std::vector<std::string>{"sales_by_day"});
  EXPECT_EQ(this->Names(*this->store_, "orders"), this->Names(*this->other_, "orders"));
}

TYPED_TEST(MemorySearchTest, RebuildByAnotherStoreLoadsAgain) {
  WriteBatch b;
  this->Put(b, "orders", "One row per order.");
  this->Write(*this->store_, b);
  ASSERT_TRUE(this->other_->RebuildSearchIndex().ok());
  EXPECT_TRUE(this->WaitFor([&] {
    SearchMemoryStatus s = this->Memory();
    return s.loaded && s.loads == 2;
  }));
  EXPECT_EQ(this->Names(*this->store_, "orders"), std::vector<std::string>{"orders"});
}

TYPED_TEST(MemorySearchTest, ChangeLogIsPrunedAndACopyBehindItLoadsAgain) {
  this->Reopen(std::chrono::hours(1));  // no polling: it falls behind the other store
  WriteBatch first;
  this->Put(first, "alpha_one", "First.");
  this->Put(first, "alpha_two", "Second.");
  this->Write(*this->other_, first);
  EXPECT_EQ(this->ChangeLogRows(), 2);
  // Older than the retention by the next write: pruned by it.
  this->clock_->Advance(std::chrono::hours(1));
  WriteBatch second;
  this->Put(second, "alpha_three", "Third.");
  this->Write(*this->other_, second);
  EXPECT_EQ(this->ChangeLogRows(), 1);
  EXPECT_TRUE(this->Names(*this->store_, "alpha").empty());  // not polled yet
  // Its own write catches it up: the log no longer has what it missed, so it loads again.
  WriteBatch own;
  this->Put(own, "alpha_four", "Fourth.");
  this->Write(*this->store_, own);
  EXPECT_TRUE(this->WaitFor([&] {
    SearchMemoryStatus s = this->Memory();
    return s.loaded && s.loads == 2;
  }));
  EXPECT_EQ(this->Names(*this->store_, "alpha").size(), 4u);
}

// Health is remembered from the first search that shows an asset, and read again once the
// change log names the asset: an anomaly or incident written through this store is seen by
// the next search, one written through another within the poll, and an incident moved to
// another root changes both assets.
TYPED_TEST(MemorySearchTest, HealthFollowsIncidentsAndAnomalies) {
  WriteBatch seed;
  this->Put(seed, "orders", "One row per order.");
  this->Put(seed, "payments", "Payments per order.");
  this->Write(*this->store_, seed);
  auto health = [&](Store& store, const std::string& name) {
    SearchQuery q;
    q.text = name;
    auto r = store.Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const SearchHit& h : r.ok() ? r->hits : std::vector<SearchHit>{}) {
      if (h.name == name) return h.health;
    }
    ADD_FAILURE() << name << " not found";
    return AssetHealth{};
  };
  EXPECT_EQ(health(*this->store_, "orders").Label(), "healthy");
  const long long reads = this->Memory().health_reads;
  EXPECT_EQ(health(*this->store_, "orders").Label(), "healthy");
  EXPECT_EQ(this->Memory().health_reads, reads);  // remembered: the store is not asked again

  WriteBatch anomaly;
  model::Anomaly an;
  an.id = "an-1";
  an.asset = Key("orders");
  an.metric = "row_count";
  an.detector = "volume";
  an.ts = kT0;
  an.detected_at = kT0;
  an.explanation = "row count dropped";
  anomaly.PutAnomaly(an);
  this->Write(*this->store_, anomaly);
  AssetHealth h = health(*this->store_, "orders");
  EXPECT_EQ(h.Label(), "anomaly");
  EXPECT_EQ(h.last_anomaly, "row count dropped");

  model::Incident inc;
  inc.id = "inc-1";
  inc.root = Key("orders");
  inc.state = model::IncidentState::kOpen;
  inc.title = "orders late";
  inc.opened_at = kT0;
  inc.updated_at = kT0;
  WriteBatch opened;
  opened.PutIncident(inc);
  this->Write(*this->store_, opened);
  EXPECT_EQ(health(*this->store_, "orders").open_incidents, 1);
  EXPECT_EQ(health(*this->store_, "payments").Label(), "healthy");

  // Through another store: the incident moves to payments, then is resolved.
  inc.root = Key("payments");
  WriteBatch moved;
  moved.PutIncident(inc);
  this->Write(*this->other_, moved);
  EXPECT_TRUE(this->WaitFor([&] {
    return health(*this->store_, "payments").Label() == "incident" &&
           health(*this->store_, "orders").Label() == "anomaly";
  }));
  inc.state = model::IncidentState::kResolved;
  inc.resolved_at = kT0;
  WriteBatch resolved;
  resolved.PutIncident(inc);
  this->Write(*this->other_, resolved);
  EXPECT_TRUE(this->WaitFor([&] { return health(*this->store_, "payments").Label() == "healthy"; }));
  for (const char* name : {"orders", "payments"}) {
    EXPECT_EQ(health(*this->store_, name).Label(), health(*this->other_, name).Label()) << name;
    EXPECT_EQ(health(*this->store_, name).last_anomaly, health(*this->other_, name).last_anomaly)
        << name;
  }
  // Health alone changed: the documents were not rebuilt, only logged.
  EXPECT_EQ(this->Memory().assets, 2);
}

// A frequent word's list is cut to its best kKeptPostings; removals then push it below what a
// filtered search reads, and it is read again from the store. Results stay exactly the
// tables'.
TYPED_TEST(MemorySearchTest, CutPostingListsStayExactThroughRemovals) {
  WriteBatch b;
  for (int i = 0; i < 1700; ++i) {
    this->Put(b, "t" + std::to_string(10000 + i), "", {"shared_col"});
  }
  this->Write(*this->other_, b);
  ASSERT_TRUE(this->WaitFor([&] { return this->Memory().assets == 1700; }));
  WriteBatch removals;
  for (int i = 1000; i < 1700; ++i) removals.MarkRemoved(Key("t" + std::to_string(10000 + i)));
  this->Write(*this->other_, removals);
  ASSERT_TRUE(this->WaitFor([&] {
    SearchMemoryStatus s = this->Memory();
    return s.changes_applied >= 2400 && s.refills >= 1;
  }));
  for (const char* kind : {"", "table"}) {
    SearchQuery q;
    q.text = "shared";
    q.kind = kind;
    q.limit = 200;
    auto mine = this->store_->Search(q);
    auto tables = this->other_->Search(q);
    ASSERT_TRUE(mine.ok() && tables.ok());
    EXPECT_EQ(mine->total, tables->total) << kind;
    EXPECT_EQ(mine->exact, tables->exact) << kind;
    ASSERT_EQ(mine->hits.size(), tables->hits.size()) << kind;
    for (size_t i = 0; i < mine->hits.size(); ++i) {
      EXPECT_EQ(mine->hits[i].key, tables->hits[i].key) << kind << " #" << i;
      EXPECT_EQ(mine->hits[i].score, tables->hits[i].score) << kind << " #" << i;
    }
  }
}

}  // namespace
}  // namespace tidemark::catalog
