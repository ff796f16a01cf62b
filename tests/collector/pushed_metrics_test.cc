// IngestPushedMetrics against real stores: CSV and JSON lines rows become metric points on
// the dataset they name (joined to an existing dbt asset of the same table), a repeated file
// changes nothing, and a bad row names its line and field with nothing stored.

#include "tidemark/collector/pushed_metrics.h"

#include <gtest/gtest.h>

#include "catalog/test_stores.h"
#include "collector/fixtures.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

using model::AssetKey;

template <typename Factory>
class PushedMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    auto store = factory_.Open(nullptr);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  std::vector<double> Series(const AssetKey& key, const std::string& metric) {
    auto s = store_->ReadSeries(key, metric, *model::ParseTimestamp("2026-01-01"),
                                *model::ParseTimestamp("2027-01-01"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->values : std::vector<double>{};
  }
  Factory factory_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteMemoryFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(PushedMetricsTest, Backends, catalog::testing::FactoryNames);

TYPED_TEST(PushedMetricsTest, CsvAndJsonLinesBecomePoints) {
  const std::string csv =
      "dataset,metric,timestamp,value\n"
      "snowflake://acme/ANALYTICS.MARTS.ORDERS,row_count,2026-11-20T06:00:00Z,100\n"
      "\"snowflake://acme/ANALYTICS.MARTS.ORDERS\",row_count,2026-11-21T06:00:00Z,120\n"
      "snowflake://acme/ANALYTICS.MARTS.ORDERS,last_modified,2026-11-21T06:00:00Z,2026-11-21T05:30:00Z\n";
  auto r = IngestPushedMetrics(*this->store_, csv, "stats.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->points, 3u);
  EXPECT_EQ(r->datasets, 1u);
  const AssetKey orders{"snowflake://acme", "ANALYTICS.MARTS.ORDERS"};
  EXPECT_EQ(this->Series(orders, "row_count"), (std::vector<double>{100, 120}));
  EXPECT_EQ(this->Series(orders, "last_modified"),
            std::vector<double>{static_cast<double>(
                model::ToMicros(*model::ParseTimestamp("2026-11-21T05:30:00Z")) / 1000000)});

  const std::string lines =
      "{\"namespace\": \"bigquery\", \"name\": \"proj.ds.events\", \"metric\": \"null_rate:user_id\", "
      "\"ts\": \"2026-11-21T06:00:00Z\", \"value\": 0.25}\n"
      "{\"dataset\": \"bigquery/proj.ds.events\", \"metric\": \"bytes\", \"timestamp\": "
      "\"2026-11-21T06:00:00Z\", \"value\": \"4096\"}\n";
  r = IngestPushedMetrics(*this->store_, lines, "stats.jsonl");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const AssetKey events{"bigquery", "proj.ds.events"};
  EXPECT_EQ(this->Series(events, "null_rate:user_id"), std::vector<double>{0.25});
  EXPECT_EQ(this->Series(events, "bytes"), std::vector<double>{4096});

  // The same file again: every point already stored.
  r = IngestPushedMetrics(*this->store_, csv, "stats.csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->write.points_written, 0u);
  EXPECT_EQ(r->write.points_skipped, 3u);
}

TYPED_TEST(PushedMetricsTest, JoinsTheDbtAssetOfTheSameTable) {
  DbtArtifacts a;
  a.manifest = {"manifest.json", tidemark::testing::ReadFile(tidemark::testing::TestData() /
                                                             "dbt/shop/manifest.json")};
  ASSERT_TRUE(IngestDbt(*this->store_, a).ok());
  auto r = IngestPushedMetrics(
      *this->store_,
      "dataset,metric,ts,value\npostgres://warehouse:5432/analytics.marts.fct_orders,row_count,"
      "2026-11-21T06:00:00Z,42\n",
      "stats.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(this->Series({"postgres", "analytics.marts.fct_orders"}, "row_count"),
            std::vector<double>{42});
}

TYPED_TEST(PushedMetricsTest, BadRowsNameLineAndFieldAndStoreNothing) {
  struct Case {
    std::string text, where, message;
  } cases[] = {
      {"dataset,metric,timestamp,value\nbigquery/p.d.t,row_count,2026-11-21T06:00:00Z,many\n",
       "stats line 2", "value: not a number"},
      {"dataset,metric,timestamp,value\nbigquery/p.d.t,row_count,2026-11-21T06:00:00Z,1\n"
       "bigquery/p.d.t,row_count,yesterday,1\n",
       "stats line 3", "timestamp"},
      {"dataset,metric,value\nbigquery/p.d.t,row_count,1\n", "stats line 1", "timestamp"},
      {"dataset,metric,timestamp,value\nnoslash,row_count,2026-11-21T06:00:00Z,1\n",
       "stats line 2", "dataset"},
      {"{\"dataset\": \"bigquery/p.d.t\", \"metric\": \"\", \"ts\": \"2026-11-21\", \"value\": 1}\n",
       "stats line 1", "metric"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = IngestPushedMetrics(*this->store_, c.text, "stats");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_EQ(r.status().where(), c.where);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  auto counts = this->store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->metric_points, 0);
  EXPECT_EQ(counts->assets, 0);
}

}  // namespace
}  // namespace tidemark::collector
