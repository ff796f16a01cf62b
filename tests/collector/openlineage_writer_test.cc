// OpenLineageWriter: many threads ingesting at once share commits, each gets its own result,
// an invalid request is rejected alone, and everything that returned OK is in the store.

#include "tidemark/collector/openlineage_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/test_stores.h"

namespace tidemark::collector {
namespace {

std::string RunId(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
  return id;
}

std::string Event(int i, bool valid) {
  nlohmann::json e = {
      {"eventType", "COMPLETE"},
      {"eventTime", valid ? "2024-03-01T00:00:00Z" : "not a time"},
      {"run", {{"runId", RunId(i)}}},
      {"job", {{"namespace", "airflow"}, {"name", "job_" + std::to_string(i % 7)}}},
      {"inputs", nlohmann::json::array({{{"namespace", "postgres://db:5432"}, {"name", "a.b.in_" + std::to_string(i % 5)}}})},
      {"outputs", nlohmann::json::array({{{"namespace", "postgres://db:5432"}, {"name", "a.b.out_" + std::to_string(i % 3)}}})}};
  return e.dump();
}

template <typename Factory>
class OpenLineageWriterTest : public ::testing::Test {
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
  Factory factory_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::PostgresFactory>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::Name();
  }
};
TYPED_TEST_SUITE(OpenLineageWriterTest, Backends, BackendNames);

TYPED_TEST(OpenLineageWriterTest, ConcurrentCallersShareCommitsAndKeepTheirOwnResults) {
  OpenLineageWriter writer(*this->store_);
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> ok{0}, rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        int i = t * kPerThread + k;
        bool valid = i % 10 != 3;
        auto r = writer.Ingest({{"request " + std::to_string(i), Event(i, valid)}});
        if (valid) {
          EXPECT_TRUE(r.ok()) << r.status().ToString();
          if (r.ok()) {
            EXPECT_EQ(r->events, 1u);
          }
          ok += r.ok();
        } else {
          ASSERT_FALSE(r.ok());
          EXPECT_EQ(r.status().where(), "request " + std::to_string(i) + ": /eventTime");
          ++rejected;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads * kPerThread * 9 / 10);
  EXPECT_EQ(rejected, kThreads * kPerThread / 10);
  auto counts = this->store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->runs, ok.load());
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    EXPECT_EQ(this->store_->GetRun(RunId(i)).ok(), i % 10 != 3) << i;
  }
}

// The writer remembers what it stored so a job reporting again costs no reads and rewrites
// nothing; whatever another writer changes in between (this process or another one on the
// same database) must still be seen: the other writer's description stays, and lineage the
// other writer removed comes back with the next report.
TYPED_TEST(OpenLineageWriterTest, RepeatedReportsSeeWhatOtherWritersChanged) {
  const model::AssetKey out{"postgres://db:5432", "a.b.out_0"};
  const model::AssetKey job{"airflow", "job_0"};
  auto ingest = [&](OpenLineageWriter& writer, int i) {
    auto r = writer.Ingest({{"request", Event(i, true)}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  auto edges_into_out = [&](catalog::Store& store) {
    auto edges = store.GetEdges(out, catalog::Direction::kUpstream);
    EXPECT_TRUE(edges.ok()) << edges.status().ToString();
    return edges.ok() ? edges->size() : 0;
  };
  OpenLineageWriter writer(*this->store_);
  ingest(writer, 0);
  ingest(writer, 105);  // the same job and datasets again: served from what the writer knows
  ASSERT_EQ(edges_into_out(*this->store_), 1u);

  // Another writer of this process: a description, and the OpenLineage edge removed.
  {
    auto asset = this->store_->GetAsset(out);
    ASSERT_TRUE(asset.ok());
    asset->description = "Written by dbt.";
    asset->tags.clear();
    asset->aliases.clear();
    catalog::WriteBatch batch;
    batch.PutAsset(*asset);
    batch.ReplaceEdgesInto(out, "openlineage", {});
    ASSERT_TRUE(this->store_->Write(batch).ok());
  }
  ASSERT_EQ(edges_into_out(*this->store_), 0u);
  ingest(writer, 210);
  EXPECT_EQ(edges_into_out(*this->store_), 1u);
  EXPECT_EQ(this->store_->GetAsset(out)->description, "Written by dbt.");
  EXPECT_EQ(this->store_->GetRun(RunId(210))->job, job);

  // Another process on the same database.
  std::string url;
  if constexpr (std::is_same_v<TypeParam, catalog::testing::PostgresFactory>) {
    url = this->factory_.db->url();
  } else {
    url = "sqlite:" + (this->factory_.dir->path() / "tidemark.db").string();
  }
  {
    auto other = catalog::OpenStore({.url = url});
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    catalog::WriteBatch batch;
    batch.ReplaceEdgesInto(out, "openlineage", {});
    ASSERT_TRUE((*other)->Write(batch).ok());
  }
  ASSERT_EQ(edges_into_out(*this->store_), 0u);
  ingest(writer, 315);
  EXPECT_EQ(edges_into_out(*this->store_), 1u);
  EXPECT_EQ(this->store_->GetAsset(out)->description, "Written by dbt.");
}

}  // namespace
}  // namespace tidemark::collector
