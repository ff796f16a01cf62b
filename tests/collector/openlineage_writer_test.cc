// OpenLineageWriter: many threads accepting at once share commits to the event log, each
// gets its own ids, an invalid request is rejected alone before anything is logged, and
// everything that returned OK is in the log (and in the catalog once projected).

#include "tidemark/collector/openlineage_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "catalog/test_stores.h"
#include "collector/openlineage_events.h"
#include "tidemark/collector/openlineage_projector.h"

namespace tidemark::collector {
namespace {

std::string RunId(int i) { return testing::OpenLineageRunId(i); }
// Run i's COMPLETE event; invalid: its eventTime does not parse.
std::string Event(int i, bool valid) {
  return testing::OpenLineageRunEvent(i, "COMPLETE", valid ? "2024-03-01T00:00:00Z" : "not a time");
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
TYPED_TEST_SUITE(OpenLineageWriterTest, Backends, catalog::testing::FactoryNames);

TYPED_TEST(OpenLineageWriterTest, ConcurrentCallersShareCommitsAndKeepTheirOwnIds) {
  std::atomic<int> appends{0};
  OpenLineageWriter writer(*this->store_, [&] { ++appends; });
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> ok{0}, rejected{0};
  std::vector<std::vector<std::int64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        int i = t * kPerThread + k;
        bool valid = i % 10 != 3;
        auto r = writer.Accept({{"request " + std::to_string(i), Event(i, valid)}});
        if (valid) {
          EXPECT_TRUE(r.ok()) << r.status().ToString();
          if (r.ok()) {
            EXPECT_EQ(r->events, 1u);
            EXPECT_EQ(r->run_events, 1u);
            EXPECT_EQ(r->ids.size(), 1u);
            ids[t].insert(ids[t].end(), r->ids.begin(), r->ids.end());
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
  EXPECT_GE(appends.load(), 1);
  EXPECT_LE(appends.load(), ok.load());
  std::set<std::int64_t> all;
  for (const auto& v : ids) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(ok.load()));

  // Logged, not projected: the catalog has nothing yet, the log has every accepted event.
  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->waiting, ok.load());
  EXPECT_EQ(status->last_id, *all.rbegin());
  EXPECT_EQ(this->store_->Counts()->runs, 0);

  OpenLineageProjector projector(*this->store_);
  ASSERT_TRUE(projector.ProjectAll().ok());
  auto counts = this->store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->runs, ok.load());
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    EXPECT_EQ(this->store_->GetRun(RunId(i)).ok(), i % 10 != 3) << i;
  }
  EXPECT_EQ(this->store_->GetLineageLogStatus()->waiting, 0);
}

// Every error the projection could report is found before the event is logged: a batch
// with one bad event logs none of them.
TYPED_TEST(OpenLineageWriterTest, InvalidEventsAreRejectedBeforeTheLog) {
  OpenLineageWriter writer(*this->store_);
  auto event = [](auto&& edit) {
    nlohmann::json e = nlohmann::json::parse(Event(1, true));
    edit(e);
    return e.dump();
  };
  const std::vector<std::pair<std::string, std::string>> bad = {
      {event([](auto& e) { e["run"].erase("runId"); }), "/run/runId"},
      {event([](auto& e) { e["run"]["runId"] = "not-a-uuid"; }), "/run/runId"},
      {event([](auto& e) { e["job"].erase("name"); }), "/job/name"},
      {event([](auto& e) { e.erase("eventTime"); }), "/eventTime"},
      {event([](auto& e) { e["eventTime"] = 12; }), "/eventTime"},
      {event([](auto& e) { e["eventType"] = "DONE"; }), "/eventType"},
      {event([](auto& e) { e["inputs"] = "x"; }), "/inputs"},
      {event([](auto& e) { e["outputs"][0]["facets"] = {{"schema", {{"fields", 3}}}}; }),
       "/outputs/0/facets/schema/fields"},
      {event([](auto& e) {
         e["outputs"][0]["facets"] = {{"dataQualityMetrics", {{"rowCount", "many"}}}};
       }),
       "/outputs/0/facets/dataQualityMetrics/rowCount"},
      {"{\"eventTime\": ", "b"},
  };
  for (const auto& [text, path] : bad) {
    auto r = writer.Accept({{"a", Event(2, true)}, {"b", text}});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    if (path != "b") {
      EXPECT_EQ(r.status().where(), "b: " + path) << text;
    }
  }
  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->last_id, 0);
  EXPECT_EQ(status->waiting, 0);
}

// The asynchronous form: an invalid request hears back before Accept returns, on the caller's
// thread, with nothing logged; a valid one hears back from the writer's thread once its
// events are in the log.
TYPED_TEST(OpenLineageWriterTest, AsynchronousCallersHearBackOnceCommitted) {
  OpenLineageWriter writer(*this->store_);
  const auto caller = std::this_thread::get_id();
  bool rejected_here = false;
  writer.Accept({{"bad", Event(1, false)}}, [&](model::Result<OpenLineageAccepted> r) {
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().where(), "bad: /eventTime");
    rejected_here = std::this_thread::get_id() == caller;
  });
  EXPECT_TRUE(rejected_here) << "an invalid request is answered before Accept returns";
  EXPECT_EQ(this->store_->GetLineageLogStatus()->last_id, 0);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::thread::id, model::Result<OpenLineageAccepted>>> answers;
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    writer.Accept({{"r" + std::to_string(i), Event(i, true)}},
                  [&](model::Result<OpenLineageAccepted> r) {
                    // Committed before the answer: the log already holds the ids.
                    if (r.ok()) {
                      auto status = this->store_->GetLineageLogStatus();
                      EXPECT_TRUE(status.ok());
                      if (status.ok()) {
                        EXPECT_GE(status->last_id, r->ids.back());
                      }
                    }
                    std::lock_guard lock(mu);
                    answers.emplace_back(std::this_thread::get_id(), std::move(r));
                    cv.notify_all();
                  });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answers.size() == kRequests; }));
  std::set<std::int64_t> ids;
  for (const auto& [thread, r] : answers) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NE(thread, caller);
    ASSERT_EQ(r->ids.size(), 1u);
    ids.insert(r->ids[0]);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRequests));
}

// Destroying the writer commits what is still queued and answers every caller first.
TYPED_TEST(OpenLineageWriterTest, DestroyingTheWriterCommitsWhatIsQueued) {
  std::atomic<int> answered{0}, committed{0};
  {
    OpenLineageWriter writer(*this->store_);
    for (int i = 0; i < 30; ++i) {
      writer.Accept({{"r", Event(i, true)}}, [&](model::Result<OpenLineageAccepted> r) {
        ++answered;
        committed += r.ok();
      });
    }
  }
  EXPECT_EQ(answered, 30);
  EXPECT_EQ(committed, 30);
  EXPECT_EQ(this->store_->GetLineageLogStatus()->waiting, 30);
}

// The 201 body, written without a JSON library: valid JSON with every count and id.
TEST(OpenLineageAcceptedTest, TheResponseBodyIsJsonWithTheCountsAndIds) {
  OpenLineageAccepted a;
  a.events = 3;
  a.run_events = 2;
  a.dataset_events = 1;
  a.ids = {7, 8, 12};
  a.elapsed_ms = 1.25;
  nlohmann::json j = nlohmann::json::parse(a.ToJson());
  EXPECT_EQ(j["events"], nlohmann::json({{"total", 3}, {"run_events", 2}, {"job_events", 0},
                                         {"dataset_events", 1}}));
  EXPECT_EQ(j["ids"], nlohmann::json({7, 8, 12}));
  EXPECT_EQ(j["projected"], false);
  EXPECT_DOUBLE_EQ(j["elapsed_ms"].get<double>(), 1.25);
  EXPECT_EQ(nlohmann::json::parse(OpenLineageAccepted{}.ToJson())["ids"], nlohmann::json::array());
}

}  // namespace
}  // namespace tidemark::collector
