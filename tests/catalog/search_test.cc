// Search, lineage and ownership queries (issue 6): one typed suite over SQLite and
// PostgreSQL, so both stores rank alike. The ranking rules are in catalog/src/search_engine.h.

#include "tidemark/catalog/search.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "catalog/test_stores.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {
namespace {

using model::AssetKey;
using model::AssetKind;

const model::Timestamp kT0 = *model::ParseTimestamp("2026-11-01T00:00:00Z");

AssetKey Key(const std::string& name) { return AssetKey{"postgres://wh:5432", name}; }

template <typename Factory>
class SearchTest : public ::testing::Test {
 public:
  void SetUp() override {
    if constexpr (std::is_base_of_v<testing::PostgresFactory, Factory>) TM_REQUIRE_PG();
    clock_ = std::make_unique<model::ManualClock>(kT0);
    auto store = factory_.Open(clock_.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }

  void Put(WriteBatch& b, const std::string& full, AssetKind kind, const std::string& description,
           std::vector<std::string> columns = {}, std::vector<std::string> tags = {}) {
    model::Asset a;
    a.key = Key(full);
    a.kind = kind;
    a.name = full.substr(full.find_last_of('.') + 1);
    a.description = description;
    a.source = "dbt";
    a.database = "analytics";
    a.schema = full.substr(full.find('.') + 1, full.find_last_of('.') - full.find('.') - 1);
    b.PutAsset(a);
    std::vector<model::Column> cols;
    int pos = 1;
    for (auto& c : columns) cols.push_back({c, pos++, "text", "", std::nullopt, {}, "{}"});
    if (!cols.empty()) b.SetColumns(a.key, cols);
    if (!tags.empty()) b.SetTags(a.key, tags);
  }

  void Write(const WriteBatch& b) {
    auto r = store_->Write(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A small shop: orders, its staging models, a column named order_id, a deprecated copy.
  void SeedShop() {
    WriteBatch b;
    b.PutOwner({"team:sales", model::OwnerKind::kTeam, "Sales", "", "#sales", "{}"});
    Put(b, "analytics.marts.orders", AssetKind::kTable, "One row per order placed in the shop.",
        {"order_id", "customer_id", "amount"}, {"pii"});
    Put(b, "analytics.staging.stg_orders_items", AssetKind::kView, "Items of each order.",
        {"item_id", "quantity"});
    Put(b, "analytics.staging.stg_orders", AssetKind::kView, "Cleaned raw orders.", {"id"});
    Put(b, "analytics.marts.fct_payments", AssetKind::kTable, "Payments, one per charge.",
        {"payment_id", "order_id"}, {"finance"});
    Put(b, "analytics.marts.dim_customers", AssetKind::kTable,
        "Customers with their lifetime value. Tagged as a core model.", {"customer_id"},
        {"core"});
    Put(b, "analytics.legacy.orders_old", AssetKind::kTable, "Old orders table.", {"id"});
    Put(b, "analytics.marts.fctOrderLines", AssetKind::kTable, "Order lines in camelCase.");
    b.SetOwnerships(Key("analytics.marts.orders"), {{"team:sales", "owner"}});
    Write(b);
    WriteBatch dep;
    model::Asset old;
    old.key = Key("analytics.legacy.orders_old");
    old.kind = AssetKind::kTable;
    old.name = "orders_old";
    old.status = model::AssetStatus::kDeprecated;
    old.description = "Old orders table.";
    old.source = "dbt";
    old.database = "analytics";
    old.schema = "legacy";
    dep.PutAsset(old);
    Write(dep);
  }

  std::vector<std::string> Names(const std::string& q, SearchQuery query = {}) {
    query.text = q;
    auto r = store_->Search(query);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& h : r->hits) out.push_back(h.name);
    }
    return out;
  }

  Factory factory_;
  std::unique_ptr<model::ManualClock> clock_;
  std::unique_ptr<Store> store_;
};

#ifdef TIDEMARK_SEARCH_IN_MEMORY
// search_in_memory_test: the same cases answered from serve's copy of the index in memory
// (catalog/src/memory_search.h). They hold there by construction, and must. A binary of its
// own, so that each stays within a minute under the sanitizers.
using Backends = ::testing::Types<testing::MemorySearchFactory<testing::SqliteFileFactory>,
                                  testing::MemorySearchFactory<testing::PostgresFactory>>;
#else
using Backends = ::testing::Types<testing::SqliteFileFactory, testing::SqliteMemoryFactory,
                                  testing::PostgresFactory>;
#endif
TYPED_TEST_SUITE(SearchTest, Backends, testing::FactoryNames);

size_t IndexOf(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), x) - v.begin());
}

TYPED_TEST(SearchTest, OrdersPutsTableNamedOrdersAboveStgOrdersItemsAboveColumnOrderId) {
  this->SeedShop();
  auto names = this->Names("orders");
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "orders");
  EXPECT_LT(IndexOf(names, "stg_orders"), IndexOf(names, "stg_orders_items"));
  EXPECT_LT(IndexOf(names, "stg_orders_items"), IndexOf(names, "fct_payments"));
  EXPECT_LT(IndexOf(names, "fct_payments"), names.size());  // matched through order_id (typo)
  // Deprecated assets come last.
  EXPECT_EQ(names.back(), "orders_old");
}

TYPED_TEST(SearchTest, DottedAndSplitNamesMatch) {
  this->SeedShop();
  EXPECT_EQ(this->Names("marts.orders").at(0), "orders");
  EXPECT_EQ(this->Names("analytics.marts.orders").at(0), "orders");
  EXPECT_EQ(this->Names("stg orders items").at(0), "stg_orders_items");
  EXPECT_EQ(this->Names("fct order lines").at(0), "fctOrderLines");  // camelCase
}

TYPED_TEST(SearchTest, ColumnBeatsTagBeatsDescription) {
  WriteBatch b;
  this->Put(b, "db.s.alpha", AssetKind::kTable, "nothing here", {"widget"});
  this->Put(b, "db.s.beta", AssetKind::kTable, "nothing here", {}, {"widget"});
  this->Put(b, "db.s.gamma", AssetKind::kTable, "a widget table");
  this->Write(b);
  EXPECT_EQ(this->Names("widget"), (std::vector<std::string>{"alpha", "beta", "gamma"}));
}

// The engine only tokenises a field when a query word occurs in it as a substring, ignoring
// ASCII case: upper-case, camelCase, UTF-8 and over-long words must still be found in every field.
TYPED_TEST(SearchTest, WordsMatchInEveryFieldWhateverTheirCase) {
  WriteBatch b;
  const std::string long_word(70, 'q');  // tokens are cut to 64 bytes
  this->Put(b, "db.s.t_name", AssetKind::kTable, "", {"id"});
  this->Put(b, "db.s.t_column", AssetKind::kTable, "", {"CustomerEMAIL"});
  this->Put(b, "db.s.t_tag", AssetKind::kTable, "", {}, {"GoldTier"});
  this->Put(b, "db.s.t_description", AssetKind::kTable,
            "Lists RÉSUMÉ uploads per USER; see " + long_word + ".");
  this->Put(b, "db.s.t_phrase", AssetKind::kTable, "Counts the MonthlyActive Users");
  this->Write(b);
  auto why = [&](const std::string& q) {
    SearchQuery query;
    query.text = q;
    auto r = this->store_->Search(query);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    if (!r.ok() || r->hits.empty()) return std::string("-");
    const SearchHit& h = r->hits[0];
    return h.name + " " + h.matched.at(0).field + " " + h.matched.at(0).how;
  };
  EXPECT_EQ(why("NAME"), "t_name name word");
  EXPECT_EQ(why("email"), "t_column column word");
  EXPECT_EQ(why("Tier"), "t_tag tag word");
  EXPECT_EQ(why("user"), "t_description description word");
  EXPECT_EQ(why("RÉSUMÉ"), "t_description description word");
  EXPECT_EQ(why(long_word), "t_description description word");
  EXPECT_EQ(why("\"monthly active users\""), "t_phrase description phrase");
  EXPECT_EQ(why("emial"), "t_column column typo");
  EXPECT_EQ(why("résumé"), "-");  // only ASCII letters fold
}

TYPED_TEST(SearchTest, TypoOfOneEditOnLongWordsOnly) {
  this->SeedShop();
  EXPECT_EQ(this->Names("custmers").at(0), "dim_customers");  // deletion
  EXPECT_EQ(this->Names("paymetns").at(0), "fct_payments");   // transposition
  EXPECT_TRUE(this->Names("ordr").empty() ||
              IndexOf(this->Names("ordr"), "orders") == this->Names("ordr").size());
}

TYPED_TEST(SearchTest, QuotedPhraseExclusionAndPrefix) {
  this->SeedShop();
  auto phrase = this->Names("\"lifetime value\"");
  EXPECT_EQ(phrase, (std::vector<std::string>{"dim_customers"}));
  EXPECT_TRUE(this->Names("\"value lifetime\"").empty());
  auto excl = this->Names("orders -staging");
  EXPECT_EQ(IndexOf(excl, "stg_orders"), excl.size());
  EXPECT_LT(IndexOf(excl, "orders"), excl.size());
  auto pre = this->Names("paym*");
  EXPECT_EQ(pre.at(0), "fct_payments");
}

TYPED_TEST(SearchTest, FiltersFacetsHighlightsAndWhy) {
  this->SeedShop();
  SearchQuery q;
  q.text = "orders";
  auto r = this->store_->Search(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SearchHit& top = r->hits.at(0);
  EXPECT_EQ(top.matched.at(0).how, "exact");
  EXPECT_EQ(top.owners, std::vector<std::string>{"team:sales"});
  ASSERT_FALSE(top.highlights.empty());
  EXPECT_EQ(top.snippet.substr(top.highlights[0].first,
                               top.highlights[0].second - top.highlights[0].first),
            "order");  // typo term "order" highlighted in "One row per order placed"
  auto facet = std::find_if(r->facets.begin(), r->facets.end(),
                            [](const Facet& f) { return f.name == "kind"; });
  ASSERT_NE(facet, r->facets.end());
  long long sum = 0;
  for (const auto& c : facet->counts) sum += c.count;
  EXPECT_EQ(sum, r->total);

  SearchQuery views;
  views.kind = "view";
  auto v = this->Names("orders", views);
  EXPECT_EQ(v, (std::vector<std::string>{"stg_orders", "stg_orders_items"}));
  SearchQuery owned;
  owned.owner = "team:sales";
  EXPECT_EQ(this->Names("orders", owned), std::vector<std::string>{"orders"});
}

// Filters without words browse: every asset they keep, the most important first (an owner
// and a description rank up, as in any search), with facets; owners and tags match whole.
TYPED_TEST(SearchTest, FiltersWithoutWordsBrowseByImportance) {
  this->SeedShop();
  SearchQuery views;
  views.kind = "view";
  EXPECT_EQ(this->Names("", views), (std::vector<std::string>{"stg_orders", "stg_orders_items"}));
  SearchQuery marts;
  marts.schema = "marts";
  std::vector<std::string> in_marts = this->Names("  ", marts);
  ASSERT_EQ(in_marts.size(), 4u);
  EXPECT_EQ(in_marts[0], "orders");  // the only one with an owner
  SearchQuery pii;
  pii.tag = "pii";
  EXPECT_EQ(this->Names("", pii), std::vector<std::string>{"orders"});
  pii.tag = "pi";
  EXPECT_TRUE(this->Names("", pii).empty()) << "a tag matched by its prefix";
  SearchQuery owned;
  owned.owner = "team:sales";
  owned.kind = "table";
  EXPECT_EQ(this->Names("", owned), std::vector<std::string>{"orders"});
  SearchQuery deprecated;
  deprecated.status = "deprecated";
  EXPECT_EQ(this->Names("", deprecated), std::vector<std::string>{"orders_old"});

  auto r = this->store_->Search(marts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->total, 4);
  EXPECT_TRUE(r->exact);
  EXPECT_TRUE(r->hits[0].matched.empty());
  auto facet = std::find_if(r->facets.begin(), r->facets.end(),
                            [](const Facet& f) { return f.name == "tag"; });
  ASSERT_NE(facet, r->facets.end());
  EXPECT_EQ(facet->counts.size(), 3u);  // pii, finance, core

  // Without a filter, a blank query still has nothing to search for.
  SearchQuery blank;
  blank.text = "  ";
  EXPECT_EQ(this->store_->Search(blank).status().code(), model::StatusCode::kInvalidArgument);
}

// A word frequent enough to fill the candidate cap: when its postings all outscore any typo
// match the typos are not read, otherwise a name one edit away still ranks first.
TYPED_TEST(SearchTest, FrequentWordKeepsTypoNameMatchesThatCanWin) {
  WriteBatch b;
  for (int i = 0; i < 260; ++i) {
    this->Put(b, "analytics.raw.load_" + std::to_string(i), AssetKind::kTable,
        "Rows about orders, loaded nightly.");
  }
  this->Put(b, "analytics.marts.order_facts", AssetKind::kTable, "Facts.");
  this->Write(b);
  SearchQuery q;
  q.text = "orders";
  auto r = this->store_->Search(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->exact);  // 260 descriptions: more than one read of postings
  ASSERT_FALSE(r->hits.empty());
  EXPECT_EQ(r->hits[0].name, "order_facts");  // typo in the name (500) beats a description (150)
  EXPECT_EQ(r->hits[0].matched.at(0).how, "typo");

  WriteBatch names;
  for (int i = 0; i < 260; ++i) {
    this->Put(names, "analytics.marts.orders_" + std::to_string(i), AssetKind::kTable, "");
  }
  this->Write(names);
  r = this->store_->Search(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->hits.size(), 20u);
  for (const SearchHit& h : r->hits) EXPECT_EQ(h.name.rfind("orders_", 0), 0u) << h.name;
}

TYPED_TEST(SearchTest, HostileQueriesGiveResultsOrInvalidArgument) {
  this->SeedShop();
  for (std::string q : {"\"", "*", "NEAR(orders payments)", "-", ":", "orders:", "a\"b",
                        "SELECT * FROM assets; DROP TABLE assets", "😀 orders", "\"unclosed",
                        "order_id OR 1=1", "'", "\\", "()", "^orders", "=orders"}) {
    SearchQuery query;
    query.text = q;
    auto r = this->store_->Search(query);
    EXPECT_TRUE(r.ok() || r.status().code() == model::StatusCode::kInvalidArgument)
        << q << ": " << r.status().ToString();
  }
  SearchQuery big;
  big.text = std::string(20 * 1024, 'x');
  EXPECT_EQ(this->store_->Search(big).status().code(), model::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->Names("\"SELECT * FROM assets\"").size(), 0u);
  // The store still answers.
  EXPECT_EQ(this->Names("orders").at(0), "orders");
}

TYPED_TEST(SearchTest, IndexFollowsWrites) {
  this->SeedShop();
  WriteBatch b;
  b.SetColumns(Key("analytics.marts.dim_customers"),
               {{"loyalty_tier", 1, "text", "", std::nullopt, {}, "{}"}});
  this->Write(b);
  EXPECT_EQ(this->Names("loyalty").at(0), "dim_customers");
  EXPECT_TRUE(this->Names("lifetime").size() == 1);  // description still indexed
  WriteBatch rm;
  rm.MarkRemoved(Key("analytics.marts.dim_customers"));
  this->Write(rm);
  SearchQuery removed;
  removed.status = "removed";
  EXPECT_EQ(this->Names("loyalty", removed), std::vector<std::string>{"dim_customers"});
  // Edges raise the downstream count of the upstream asset.
  WriteBatch e;
  e.PutEdge({Key("analytics.staging.stg_orders"), Key("analytics.marts.orders"), "", "", {}, "dbt", ""});
  this->Write(e);
  SearchQuery q;
  q.text = "stg_orders";
  auto r = this->store_->Search(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hits.at(0).name, "stg_orders");
  EXPECT_EQ(r->hits.at(0).downstream, 1);
}

// A write of more assets than one reindex chunk (500): postings of every chunk are written
// (the SQLite writer defers and sorts them), and a rewrite replaces the old terms everywhere.
TYPED_TEST(SearchTest, LargeBatchIndexesEveryAssetAndRewritesReplaceTerms) {
  constexpr int kAssets = 1203;
  auto name = [](int i, const char* word) {
    return "analytics.marts." + std::string(word) + "_" + std::to_string(i);
  };
  WriteBatch first;
  for (int i = 0; i < kAssets; ++i) {
    this->Put(first, name(i, "widget"), AssetKind::kTable, "", {"col_" + std::to_string(i)});
  }
  this->Write(first);
  for (int i : {0, 499, 500, 777, kAssets - 1}) {
    EXPECT_EQ(this->Names("widget_" + std::to_string(i)).at(0), "widget_" + std::to_string(i));
    EXPECT_EQ(this->Names("col_" + std::to_string(i)).size(), 1u) << i;
  }
  WriteBatch second;
  for (int i = 0; i < kAssets; ++i) {
    second.SetColumns(Key(name(i, "widget")), {{"renamed_" + std::to_string(i), 1, "text", "",
                                               std::nullopt, {}, ""}});
  }
  this->Write(second);
  for (int i : {0, 500, kAssets - 1}) {
    EXPECT_TRUE(this->Names("col_" + std::to_string(i)).empty()) << i;
    EXPECT_EQ(this->Names("renamed_" + std::to_string(i)).size(), 1u) << i;
  }
}

TYPED_TEST(SearchTest, SuggestCompletesNamePrefixes) {
  this->SeedShop();
  auto r = this->store_->Suggest({"stg_ord", 10});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "stg_orders");
  auto one = this->store_->Suggest({"dim", 10});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].key, Key("analytics.marts.dim_customers"));
  auto none = this->store_->Suggest({"zzz", 10});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TYPED_TEST(SearchTest, HealthShowsOpenIncidentsAndLastAnomaly) {
  this->SeedShop();
  WriteBatch b;
  model::Incident inc;
  inc.id = "inc-1";
  inc.root = Key("analytics.marts.orders");
  inc.state = model::IncidentState::kOpen;
  inc.title = "orders late";
  inc.opened_at = kT0;
  inc.updated_at = kT0;
  b.PutIncident(inc);
  model::Anomaly an;
  an.id = "an-1";
  an.asset = Key("analytics.marts.orders");
  an.metric = "row_count";
  an.detector = "volume";
  an.ts = kT0;
  an.detected_at = kT0;
  an.explanation = "row count dropped";
  b.PutAnomaly(an);
  // The last anomaly is the latest detected, then the greatest id: neither of these.
  model::Anomaly earlier = an;
  earlier.id = "an-2";
  earlier.detected_at = kT0 - std::chrono::hours(1);
  earlier.explanation = "detected earlier";
  b.PutAnomaly(earlier);
  model::Anomaly tied = an;
  tied.id = "an-09";
  tied.explanation = "same time, smaller id";
  b.PutAnomaly(tied);
  this->Write(b);
  SearchQuery q;
  q.text = "orders";
  q.health = "incident";
  auto r = this->store_->Search(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].health.open_incidents, 1);
  EXPECT_EQ(r->hits[0].health.last_anomaly, "row count dropped");
  auto owned = this->store_->ListOwnedAssets("team:sales");
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].health.Label(), "incident");
  EXPECT_EQ(this->store_->ListOwnedAssets("team:nobody").status().code(),
            model::StatusCode::kNotFound);
}

// A chain a -> b -> c -> d with a cycle d -> b, a fan-out below c, a dashboard on d and
// column lineage a.x -> b.y -> c.z.
template <typename T>
void SeedGraph(T* t) {
  WriteBatch b;
  b.PutOwner({"user:ann", model::OwnerKind::kUser, "Ann", "", "", "{}"});
  for (std::string n : {"a", "b", "c", "d"}) t->Put(b, "db.s." + n, AssetKind::kTable, "");
  t->Put(b, "db.s.dash", AssetKind::kExposure, "the dashboard");
  b.SetOwnerships(Key("db.s.dash"), {{"user:ann", "owner"}});
  auto edge = [&](std::string u, std::string d, std::string uc = "", std::string dc = "") {
    b.PutEdge({Key("db.s." + u), Key("db.s." + d), uc, dc, {}, "dbt", ""});
  };
  edge("a", "b");
  edge("b", "c");
  edge("c", "d");
  edge("d", "b");
  edge("d", "dash");
  for (int i = 0; i < 30; ++i) {
    t->Put(b, "db.s.fan" + std::to_string(i), AssetKind::kTable, "");
    edge("c", "fan" + std::to_string(i));
  }
  edge("a", "b", "x", "y");
  edge("b", "c", "y", "z");
  edge("b", "c", "w", "v");
  t->Write(b);
}

// What a set of searches and suggestions answers, hit by hit, to compare two indexes.
template <typename T>
std::string Answers(T* t, const std::vector<std::string>& queries) {
  std::string out;
  for (const std::string& q : queries) {
    SearchQuery query;
    query.text = q;
    auto r = t->store_->Search(query);
    out += "search " + q + ": " + (r.ok() ? "" : r.status().ToString()) + "\n";
    if (r.ok()) {
      out += std::to_string(r->total) + (r->exact ? "" : "+") + "\n";
      for (const auto& h : r->hits) {
        out += h.key.ToString() + " " + std::to_string(h.score) + "\n";
      }
    }
    auto s = t->store_->Suggest({q, 10});
    out += "suggest " + q + ":\n";
    if (s.ok()) {
      for (const auto& hit : *s) out += hit.key.ToString() + "\n";
    }
  }
  return out;
}

// `tidemark reindex` and migration 2 build the index in bulk (SQLite: every posting held,
// sorted and merged from runs, written into emptied tables). Built from scratch, it must
// answer exactly what the index kept current write by write answered, including after
// columns were renamed (postings removed), lineage added (boosts changed) and an asset
// deprecated; and writes after the rebuild keep it current.
TYPED_TEST(SearchTest, RebuildingFromScratchAnswersWhatIncrementalWritesKept) {
  this->SeedShop();
  SeedGraph(this);
  // More postings than one run of the bulk writer holds (65,536 rows).
  constexpr int kAssets = 3000;
  WriteBatch many;
  for (int i = 0; i < kAssets; ++i) {
    this->Put(many, "analytics.marts.widget_" + std::to_string(i), AssetKind::kTable,
              "Widget number " + std::to_string(i) + " of the catalogue, counted daily.",
              {"col_" + std::to_string(i), "widget_id", "amount", "updated_at"}, {"widgets"});
  }
  this->Write(many);
  WriteBatch changes;
  changes.SetColumns(Key("analytics.marts.orders"),
                     {{"order_key", 1, "text", "", std::nullopt, {}, "{}"}});
  changes.PutEdge({Key("analytics.marts.orders"), Key("analytics.marts.widget_7"), "", "", {},
                   "dbt", ""});
  model::Asset old = *this->store_->GetAsset(Key("analytics.legacy.orders_old"));
  old.status = model::AssetStatus::kDeprecated;
  changes.PutAsset(old);
  this->Write(changes);

  const std::vector<std::string> queries = {
      "orders", "order_key", "order_id", "custmers", "widget", "widget_7", "col_2999",
      "\"lifetime value\"", "wid*", "fct", "stg_or", "orders -legacy", "counted daily", "a",
      "fctOrderLines", "widgets", "team:sales", "dash"};
  const std::string before = Answers(this, queries);
  ASSERT_NE(before.find("widget_2999"), std::string::npos);

  Status rebuilt = this->store_->RebuildSearchIndex();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.ToString();
  EXPECT_EQ(Answers(this, queries), before);
  // Rebuilding twice changes nothing either.
  ASSERT_TRUE(this->store_->RebuildSearchIndex().ok());
  EXPECT_EQ(Answers(this, queries), before);

  // Writes after the rebuild update it: the typo index too (a fresh five-letter word).
  WriteBatch after;
  after.SetColumns(Key("analytics.marts.widget_5"),
                   {{"zebrafish", 1, "text", "", std::nullopt, {}, "{}"}});
  this->Write(after);
  EXPECT_EQ(this->Names("zebrafish"), std::vector<std::string>{"widget_5"});
  EXPECT_EQ(this->Names("zebrafsh"), std::vector<std::string>{"widget_5"});
  EXPECT_TRUE(this->Names("col_5").empty());
}

TYPED_TEST(SearchTest, LineageIsCycleSafeDepthBoundedAndCapped) {
  SeedGraph(this);
  LineageQuery q;
  q.key = Key("db.s.a");
  q.direction = LineageDirection::kDownstream;
  q.depth = 2;
  auto g = this->store_->Lineage(q);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 3u);  // a, b, c
  EXPECT_EQ(g->nodes[0].key, Key("db.s.a"));
  EXPECT_EQ(g->nodes[2].distance, 2);
  EXPECT_FALSE(g->truncated);

  q.depth = 50;  // the cycle d -> b must not loop
  g = this->store_->Lineage(q);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->nodes.size(), 4u + 1 + 30);
  EXPECT_FALSE(g->truncated);
  bool has_back_edge = std::any_of(g->edges.begin(), g->edges.end(), [](const auto& e) {
    return e.upstream == Key("db.s.d") && e.downstream == Key("db.s.b");
  });
  EXPECT_TRUE(has_back_edge);

  q.max_nodes = 10;
  g = this->store_->Lineage(q);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->nodes.size(), 10u);
  EXPECT_TRUE(g->truncated);

  LineageQuery up;
  up.key = Key("db.s.c");
  up.direction = LineageDirection::kUpstream;
  up.depth = 5;
  g = this->store_->Lineage(up);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->nodes.size(), 4u);  // c, b, a, d (via the cycle)
  EXPECT_LT(g->nodes[1].distance, 0);

  LineageQuery bad = up;
  bad.depth = 0;
  EXPECT_EQ(this->store_->Lineage(bad).status().code(), model::StatusCode::kInvalidArgument);
  bad = up;
  bad.key = Key("db.s.nope");
  EXPECT_EQ(this->store_->Lineage(bad).status().code(), model::StatusCode::kNotFound);
}

TYPED_TEST(SearchTest, ColumnLineageFollowsColumns) {
  SeedGraph(this);
  LineageQuery q;
  q.key = Key("db.s.a");
  q.direction = LineageDirection::kDownstream;
  q.level = LineageLevel::kColumn;
  q.column = "x";
  q.depth = 5;
  auto g = this->store_->Lineage(q);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->edges.size(), 2u);
  EXPECT_EQ(g->edges[0].upstream_column, "x");
  EXPECT_EQ(g->edges[0].downstream_column, "y");
  EXPECT_EQ(g->edges[1].downstream_column, "z");  // not w -> v
  EXPECT_EQ(g->nodes.size(), 3u);
}

TYPED_TEST(SearchTest, ImpactListsDownstreamExposuresOwnersAndPaths) {
  SeedGraph(this);
  auto r = this->store_->Impact(Key("db.s.b"), 1000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->downstream.size(), 2u + 1 + 30);  // c, d, dash, fans (b itself excluded)
  ASSERT_EQ(r->exposures.size(), 1u);
  EXPECT_EQ(r->exposures[0].key, Key("db.s.dash"));
  EXPECT_EQ(r->exposures[0].path,
            (std::vector<AssetKey>{Key("db.s.c"), Key("db.s.d"), Key("db.s.dash")}));
  EXPECT_EQ(r->owners, std::vector<std::string>{"user:ann"});
  auto capped = this->store_->Impact(Key("db.s.b"), 5);
  ASSERT_TRUE(capped.ok());
  EXPECT_TRUE(capped->truncated);
}

// The walk's edges as "upstream>downstream" by short name, sorted.
std::vector<std::string> WalkEdges(const LineageSubgraph& g) {
  std::vector<std::string> out;
  for (const auto& [up, down] : g.edges) {
    out.push_back(g.names[up] + ">" + g.names[down]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Incident grouping relies on the walk listing the starts it found first, in their order.
TYPED_TEST(SearchTest, WalkLineageListsFoundStartsFirstInOrderAndSkipsUnknownOnes) {
  SeedGraph(this);
  auto g = this->store_->WalkLineage({Key("db.s.c"), Key("db.s.nope"), Key("db.s.a")},
                                     Direction::kUpstream, 5, 100);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->keys.size(), 4u);  // c, a, then b and d (through the cycle)
  EXPECT_EQ(g->keys[0], Key("db.s.c"));
  EXPECT_EQ(g->keys[1], Key("db.s.a"));
  EXPECT_FALSE(g->truncated);
  // One edge per pair, whatever the column-level edges.
  EXPECT_EQ(WalkEdges(*g), (std::vector<std::string>{"a>b", "b>c", "c>d", "d>b"}));

  auto none = this->store_->WalkLineage({Key("db.s.nope")}, Direction::kUpstream, 5, 100);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->keys.empty());
  EXPECT_TRUE(none->edges.empty());
}

TYPED_TEST(SearchTest, WalkLineageStopsAtDepthAndKnowsKinds) {
  SeedGraph(this);
  auto g = this->store_->WalkLineage({Key("db.s.a")}, Direction::kDownstream, 2, 100);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(WalkEdges(*g), (std::vector<std::string>{"a>b", "b>c"}));
  ASSERT_EQ(g->keys.size(), 3u);
  EXPECT_EQ(g->kinds[0], "table");

  g = this->store_->WalkLineage({Key("db.s.a")}, Direction::kDownstream, 5, 100);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->keys.size(), 5u + 30);  // a, b, c, d, dash and the fans
  const auto dash = std::find(g->keys.begin(), g->keys.end(), Key("db.s.dash"));
  ASSERT_NE(dash, g->keys.end());
  EXPECT_EQ(g->kinds[static_cast<size_t>(dash - g->keys.begin())], "exposure");

  g = this->store_->WalkLineage({Key("db.s.a")}, Direction::kDownstream, 5, 10);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->keys.size(), 10u);
  EXPECT_TRUE(g->truncated);
}

// Migration 3 copied each document's asset key into search_docs: an index built before it
// (the columns dropped again, the migration unrecorded) gets its keys on the next open.
TYPED_TEST(SearchTest, DocumentsIndexedBeforeMigration3FindTheirKeys) {
  if constexpr (std::is_same_v<TypeParam, testing::SqliteMemoryFactory>) {
    GTEST_SKIP() << "an in-memory database does not outlive its store";
  } else {
    this->SeedShop();
    this->store_.reset();
    const char* undo =
        "ALTER TABLE search_docs DROP COLUMN namespace;"
        " ALTER TABLE search_docs DROP COLUMN key_name;"
        " DROP TABLE lineage_events;"  // migrations 4 to 6, applied again after 3
        " DROP TABLE search_changes;"
        " DROP TABLE IF EXISTS write_generation;"  // PostgreSQL's only
        " DELETE FROM schema_migrations WHERE version >= 3";
    if constexpr (std::is_base_of_v<testing::PostgresFactory, TypeParam>) {
      pqxx::connection c(this->factory_.url);
      pqxx::work tx(c);
      tx.exec(undo);
      tx.commit();
    } else {
      const std::string path = (this->factory_.dir->path() / "tidemark.db").string();
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
      char* error = nullptr;
      const int rc = sqlite3_exec(db, undo, nullptr, nullptr, &error);
      const std::string message = error ? error : "";
      sqlite3_free(error);
      sqlite3_close(db);
      ASSERT_EQ(rc, SQLITE_OK) << message;
    }
    StoreOptions opts = this->factory_.options;
    opts.url = this->factory_.url;
    opts.clock = this->clock_.get();
    auto reopened = OpenStore(opts);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    this->store_ = std::move(reopened).value();
    EXPECT_EQ(this->store_->SchemaVersion().value_or(-1), kSchemaVersion);
    SearchQuery q;
    q.text = "orders";
    auto r = this->store_->Search(q);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->hits.empty());
    EXPECT_EQ(r->hits[0].key, Key("analytics.marts.orders"));
    for (const SearchHit& h : r->hits) {
      EXPECT_EQ(h.key.ns, "postgres://wh:5432") << h.name;
      EXPECT_EQ(h.full_name, h.key.name) << h.name;
      EXPECT_TRUE(h.full_name.ends_with(h.name)) << h.full_name;
    }
  }
}

}  // namespace
}  // namespace tidemark::catalog
