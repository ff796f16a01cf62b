// OpenLineageProjector: the event log projected into the catalog exactly once, whatever the
// batches, the arrival order, repeats, restarts and other writers; an event that cannot be
// projected is recorded and skipped; the background loop catches up within milliseconds.
// On a SQLite file and PostgreSQL.

#include "tidemark/collector/openlineage_projector.h"

#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "catalog/test_stores.h"
#include "collector/openlineage_events.h"
#include "tidemark/collector/openlineage.h"
#include "tidemark/collector/openlineage_writer.h"

namespace tidemark::collector {
namespace {

using namespace std::chrono_literals;

std::string RunId(int i) { return testing::OpenLineageRunId(i); }
std::string Event(int i, const std::string& type = "COMPLETE",
                  const std::string& time = "2024-03-01T00:00:00Z") {
  return testing::OpenLineageRunEvent(i, type, time);
}

OpenLineageProjectorOptions Batches(size_t max_batch) {
  OpenLineageProjectorOptions options;
  options.max_batch = max_batch;
  return options;
}

template <typename Factory>
class OpenLineageProjectorTest : public ::testing::Test {
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
  std::vector<std::int64_t> Log(const std::vector<std::string>& events) {
    std::vector<catalog::LineageEvent> logged;
    for (const std::string& e : events) logged.push_back({0, {}, "", {}, e});
    auto ids = store_->AppendLineageEvents(logged);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<std::int64_t>{};
  }
  // Polls the log until nothing waits, for at most `deadline`.
  bool WaitProjected(catalog::Store& store, std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      auto s = store.GetLineageLogStatus();
      if (s.ok() && s->waiting == 0) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  Factory factory_;
  std::unique_ptr<catalog::Store> store_;
};

using Backends =
    ::testing::Types<catalog::testing::SqliteFileFactory, catalog::testing::PostgresFactory>;
TYPED_TEST_SUITE(OpenLineageProjectorTest, Backends, catalog::testing::FactoryNames);

// The same events, in any order, split into any batches, repeated or not: the same run.
TYPED_TEST(OpenLineageProjectorTest, OrderBatchesAndRepeatsDoNotChangeTheFinalState) {
  auto run_events = [](int i) {
    return std::vector<std::string>{Event(i, "START", "2024-03-01T00:00:00Z"),
                                    Event(i, "RUNNING", "2024-03-01T00:01:00Z"),
                                    Event(i, "COMPLETE", "2024-03-01T00:05:00Z")};
  };
  // Run 1: in order, one batch.
  this->Log(run_events(1));
  OpenLineageProjector one_batch(*this->store_);
  ASSERT_TRUE(one_batch.ProjectAll().ok());
  // Run 8 (same job and datasets): backwards, repeated, one event per batch.
  std::vector<std::string> shuffled = run_events(8);
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back(shuffled.front());
  shuffled.push_back(shuffled.back());
  this->Log(shuffled);
  OpenLineageProjector single(*this->store_, Batches(1));
  auto written = single.ProjectAll();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(single.Stats().batches, shuffled.size());

  auto a = this->store_->GetRun(RunId(1));
  auto b = this->store_->GetRun(RunId(8));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->state, model::RunState::kComplete);
  EXPECT_EQ(b->state, a->state);
  EXPECT_EQ(b->started_at, a->started_at);
  EXPECT_EQ(b->ended_at, a->ended_at);
  EXPECT_EQ(b->event_time, a->event_time);
  EXPECT_EQ(b->job, a->job);
  EXPECT_EQ(nlohmann::json::parse(b->properties), nlohmann::json::parse(a->properties));
  EXPECT_EQ(RunStateHistory(*b).size(), 3u);
  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->waiting, 0);
}

// What was logged before a crash (accepted, never projected) is projected by the next
// process's projector when it starts.
TYPED_TEST(OpenLineageProjectorTest, ARestartProjectsWhatWasLoggedButNotProjected) {
  {
    OpenLineageWriter writer(*this->store_);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer.Accept({{"r", Event(i)}}).ok());
  }
  this->store_.reset();  // the process goes away
  auto reopened = catalog::OpenStore({.url = this->factory_.url});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  this->store_ = std::move(reopened).value();
  EXPECT_EQ(this->store_->GetLineageLogStatus()->waiting, 5);
  EXPECT_EQ(this->store_->Counts()->runs, 0);
  OpenLineageProjector projector(*this->store_);
  projector.Start();
  ASSERT_TRUE(this->WaitProjected(*this->store_, 10s));
  EXPECT_EQ(this->store_->Counts()->runs, 5);
  // The projector counts a batch once its write has returned, a moment after the commit
  // that WaitProjected saw.
  for (auto until = std::chrono::steady_clock::now() + 10s;
       projector.Stats().events < 5 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(projector.Stats().events, 5u);
}

// Appends wake the background projector: the lag is milliseconds, not a poll interval.
TYPED_TEST(OpenLineageProjectorTest, TheBackgroundLoopCatchesUpSoonAfterEachAppend) {
  OpenLineageProjectorOptions options;
  options.idle_poll = std::chrono::hours(1);
  OpenLineageProjector projector(*this->store_, options);
  OpenLineageWriter writer(*this->store_, [&] { projector.Wake(); });
  projector.Start();
  for (int i = 0; i < 20; ++i) {
    auto accepted = writer.Accept({{"r", Event(i)}});
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    ASSERT_TRUE(this->WaitProjected(*this->store_, 5s)) << i;
    EXPECT_TRUE(this->store_->GetRun(RunId(i)).ok()) << i;
  }
  EXPECT_EQ(projector.Stats().failed, 0u);
}

// The scheduling policies of this process's threads named `name`.
std::multiset<int> PoliciesOfThreads(const std::string& name) {
  std::multiset<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) {
      out.insert(sched_getscheduler(static_cast<pid_t>(std::stol(task.path().filename()))));
    }
  }
  return out;
}

// In the background the loop's thread runs at the lowest priority (SCHED_IDLE), and catches
// up all the same once the CPU is free.
TYPED_TEST(OpenLineageProjectorTest, ABackgroundProjectorYieldsTheCpuAndStillCatchesUp) {
  OpenLineageProjectorOptions options;
  options.background = true;
  OpenLineageProjector projector(*this->store_, options);
  OpenLineageWriter writer(*this->store_, [&] { projector.Wake(); });
  projector.Start();
  for (int i = 0; i < 3; ++i) {
    auto accepted = writer.Accept({{"r", Event(i)}});
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    // Generous: the thread only runs when no other thread of the machine wants the CPU.
    ASSERT_TRUE(this->WaitProjected(*this->store_, 60s)) << i;
  }
  EXPECT_EQ(PoliciesOfThreads("tm-ol-project"), std::multiset<int>{SCHED_IDLE});
  OpenLineageProjector normal(*this->store_);  // the default: the normal priority
  normal.Start();
  EXPECT_EQ(PoliciesOfThreads("tm-ol-project"), (std::multiset<int>{SCHED_IDLE, SCHED_OTHER}));
}

// An event in the log that cannot be projected (it bypassed validation) is skipped and
// recorded; the events around it are projected.
TYPED_TEST(OpenLineageProjectorTest, AnEventThatCannotBeProjectedIsRecordedAndSkipped) {
  std::vector<std::int64_t> ids = this->Log({Event(1), R"({"eventTime":"never"})", Event(2)});
  ASSERT_EQ(ids.size(), 3u);
  OpenLineageProjector projector(*this->store_);
  ASSERT_TRUE(projector.ProjectAll().ok());
  EXPECT_TRUE(this->store_->GetRun(RunId(1)).ok());
  EXPECT_TRUE(this->store_->GetRun(RunId(2)).ok());
  EXPECT_EQ(projector.Stats().failed, 1u);
  auto failed = this->store_->GetCheckpoint(kLineageLogFailedScope, std::to_string(ids[1]));
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_NE(failed->value.find("/eventTime"), std::string::npos) << failed->value;
  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->projected_through, ids[2]);
  EXPECT_EQ(status->waiting, 0);
}

// Two projectors on one database (two instances): each event is projected once.
TYPED_TEST(OpenLineageProjectorTest, TwoProjectorsShareTheLogWithoutProjectingTwice) {
  std::vector<std::string> events;
  for (int i = 0; i < 60; ++i) events.push_back(Event(i));
  this->Log(events);
  auto other_store = catalog::OpenStore({.url = this->factory_.url});
  ASSERT_TRUE(other_store.ok()) << other_store.status().ToString();
  OpenLineageProjector first(*this->store_, Batches(7));
  OpenLineageProjector second(**other_store, Batches(5));
  std::thread t([&] { EXPECT_TRUE(second.ProjectAll().ok()); });
  EXPECT_TRUE(first.ProjectAll().ok());
  t.join();
  EXPECT_EQ(first.Stats().events + second.Stats().events, 60u);
  EXPECT_EQ(this->store_->Counts()->runs, 60);
  EXPECT_EQ(this->store_->GetLineageLogStatus()->waiting, 0);
}

// A projector process killed at any moment (here: between batches or in the middle of one):
// the catalog holds exactly the events at or below the checkpoint, and the next projector
// projects each of the others once. On SQLite the log and the checkpoint live in two files.
TYPED_TEST(OpenLineageProjectorTest, AKilledProjectorNeitherLosesNorRepeatsEvents) {
  constexpr int kEvents = 80;
  std::vector<std::string> events;
  for (int i = 0; i < kEvents; ++i) events.push_back(Event(i));
  std::vector<std::int64_t> ids = this->Log(events);
  ASSERT_EQ(ids.size(), size_t{kEvents});
  this->store_.reset();  // the child opens its own
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // One event per batch: many commits to be killed between or during.
    auto store = catalog::OpenStore({.url = this->factory_.url});
    if (!store.ok()) ::_exit(2);
    OpenLineageProjector projector(**store, Batches(1));
    (void)projector.ProjectAll();
    ::_exit(0);
  }
  auto reopened = catalog::OpenStore({.url = this->factory_.url});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  this->store_ = std::move(reopened).value();
  // Killed once it has projected something, well before it is done.
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until;) {
    auto s = this->store_->GetLineageLogStatus();
    if (s.ok() && s->projected_through >= ids[5]) break;
    std::this_thread::sleep_for(200us);
  }
  ::kill(child, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status)) << "the child finished before it was killed";

  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  const auto projected = std::count_if(ids.begin(), ids.end(),
                                       [&](std::int64_t id) { return id <= status->projected_through; });
  ASSERT_GE(projected, 6);
  ASSERT_LT(projected, kEvents);
  EXPECT_EQ(status->waiting, kEvents - projected);
  // Records committed exactly with their checkpoint: one run per projected event.
  EXPECT_EQ(this->store_->Counts()->runs, projected);

  OpenLineageProjector next(*this->store_);
  ASSERT_TRUE(next.ProjectAll().ok());
  EXPECT_EQ(next.Stats().events, static_cast<std::uint64_t>(kEvents - projected));
  EXPECT_EQ(this->store_->Counts()->runs, kEvents);
  EXPECT_EQ(this->store_->GetLineageLogStatus()->waiting, 0);
}

// The background loop prunes projected events once older than options.retention (the
// config's openlineage.retention), and only those.
TYPED_TEST(OpenLineageProjectorTest, TheLoopPrunesProjectedEventsPastTheRetention) {
  OpenLineageWriter writer(*this->store_);
  std::int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    auto accepted = writer.Accept({{"r", Event(i)}});
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    last = accepted->ids.back();
  }
  auto logged = [&] {
    auto events = this->store_->ReadLineageEvents(0, 10);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? events->size() : size_t{99};
  };
  OpenLineageProjectorOptions options;
  options.prune_interval = std::chrono::seconds(0);
  options.retention = std::chrono::hours(1);
  {
    OpenLineageProjector keep(*this->store_, options);
    keep.Start();
    ASSERT_TRUE(this->WaitProjected(*this->store_, 10s));
    std::this_thread::sleep_for(50ms);  // its prune after the batch
  }
  EXPECT_EQ(logged(), 3u);  // projected, but younger than an hour
  options.retention = std::chrono::seconds(0);
  OpenLineageProjector drop(*this->store_, options);
  drop.Start();
  for (auto until = std::chrono::steady_clock::now() + 10s;
       logged() > 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(logged(), 0u);
  auto status = this->store_->GetLineageLogStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->projected_through, last);
  EXPECT_EQ(status->waiting, 0);
  EXPECT_EQ(this->store_->Counts()->runs, 3);
}

TYPED_TEST(OpenLineageProjectorTest, RepeatedReportsSeeWhatOtherWritersChanged) {
  const model::AssetKey out{"postgres://db:5432", "a.b.out_0"};
  const model::AssetKey job{"airflow", "job_0"};
  OpenLineageWriter writer(*this->store_);
  OpenLineageProjector projector(*this->store_);
  auto ingest = [&](OpenLineageWriter& writer, int i) {
    auto r = writer.Accept({{"request", Event(i)}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(projector.ProjectAll().ok());
  };
  auto edges_into_out = [&](catalog::Store& store) {
    auto edges = store.GetEdges(out, catalog::Direction::kUpstream);
    EXPECT_TRUE(edges.ok()) << edges.status().ToString();
    return edges.ok() ? edges->size() : 0;
  };
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
  {
    auto other = catalog::OpenStore({.url = this->factory_.url});
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

// A RunEvent of job "etl" writing a.b.wide with the schema facet `fields` at `time`.
std::string SchemaEvent(int run, const std::string& time, const nlohmann::json& fields) {
  nlohmann::json e = nlohmann::json::parse(testing::OpenLineageRunEvent(run, "COMPLETE", time));
  e["job"]["name"] = "etl";
  e["outputs"] = nlohmann::json::array(
      {{{"namespace", "postgres://db:5432"},
        {"name", "a.b.wide"},
        {"facets", {{"schema", {{"fields", fields}}}}}}});
  return e.dump();
}

// A schema reported again unchanged is not mapped again (the projector remembers which fields
// left the stored columns as they were). The columns, the schema history and the description
// another writer gave a column end exactly as when every event is projected by a projector of
// its own, which remembers nothing.
TYPED_TEST(OpenLineageProjectorTest, AnUnchangedSchemaSkippedEndsAsIfMappedEveryTime) {
  using nlohmann::json;
  const json s1 = json::array({{{"name", "id"}, {"type", "BIGINT"}},
                               {{"name", "email"}, {"type", "TEXT"}, {"description", "Login."}}});
  json s2 = s1;
  s2[1]["type"] = "VARCHAR";
  json s3 = s2;
  s3.push_back({{"name", "address"},
                {"type", "STRUCT"},
                {"fields", json::array({{{"name", "city"}, {"type", "TEXT"}}})}});
  json s4 = s3;
  s4[1].erase("description");  // the stored description stays
  const std::vector<std::string> before = {
      SchemaEvent(1, "2024-03-01T01:00:00Z", s1), SchemaEvent(2, "2024-03-01T02:00:00Z", s1),
      SchemaEvent(3, "2024-03-01T03:00:00Z", s1), SchemaEvent(4, "2024-03-01T04:00:00Z", s1)};
  const std::vector<std::string> after = {
      SchemaEvent(5, "2024-03-01T05:00:00Z", s1), SchemaEvent(6, "2024-03-01T06:00:00Z", s1),
      SchemaEvent(7, "2024-03-01T07:00:00Z", s2), SchemaEvent(8, "2024-03-01T08:00:00Z", s2),
      SchemaEvent(9, "2024-03-01T00:30:00Z", s2),  // late: before every stored snapshot
      SchemaEvent(10, "2024-03-01T09:00:00Z", s3), SchemaEvent(11, "2024-03-01T10:00:00Z", s3),
      SchemaEvent(12, "2024-03-01T11:00:00Z", s4), SchemaEvent(13, "2024-03-01T12:00:00Z", s4),
      SchemaEvent(14, "2024-03-01T13:00:00Z", s1), SchemaEvent(15, "2024-03-01T14:00:00Z", s1),
      SchemaEvent(16, "2024-03-01T14:00:00Z", s3)};  // another schema at the same instant
  const model::AssetKey wide{"postgres://db:5432", "a.b.wide"};
  // Another writer (dbt, say) describes and tags column id between the two series.
  auto describe_id = [&](catalog::Store& store) {
    auto columns = store.GetColumns(wide);
    ASSERT_TRUE(columns.ok() && !columns->empty()) << columns.status().ToString();
    (*columns)[0].description = "Surrogate key.";
    (*columns)[0].tags = {"pii"};
    catalog::WriteBatch batch;
    batch.SetColumns(wide, *columns);
    ASSERT_TRUE(store.Write(batch).ok());
  };

  // Reference: a new projector (an empty cache) for every event.
  TypeParam reference_factory;
  auto reference = reference_factory.Open(nullptr);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  auto project_alone = [&](const std::vector<std::string>& events) {
    for (const std::string& e : events) {
      ASSERT_TRUE((*reference)->AppendLineageEvents({{0, {}, "", {}, e}}).ok());
      ASSERT_TRUE(OpenLineageProjector(**reference).ProjectAll().ok());
    }
  };
  project_alone(before);
  describe_id(**reference);
  project_alone(after);

  // One projector throughout, in batches of one and of three.
  for (size_t batch : {size_t{1}, size_t{3}}) {
    SCOPED_TRACE("batches of " + std::to_string(batch));
    TypeParam factory;
    auto store = factory.Open(nullptr);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    OpenLineageProjector projector(**store, Batches(batch));
    auto project = [&](const std::vector<std::string>& events) {
      std::vector<catalog::LineageEvent> logged;
      for (const std::string& e : events) logged.push_back({0, {}, "", {}, e});
      ASSERT_TRUE((*store)->AppendLineageEvents(logged).ok());
      ASSERT_TRUE(projector.ProjectAll().ok());
    };
    project(before);
    describe_id(**store);
    project(after);

    auto columns = (*store)->GetColumns(wide);
    auto expected_columns = (*reference)->GetColumns(wide);
    ASSERT_TRUE(columns.ok() && expected_columns.ok());
    EXPECT_EQ(*columns, *expected_columns);
    ASSERT_EQ(columns->size(), 4u);
    EXPECT_EQ((*columns)[0].description, "Surrogate key.");
    EXPECT_EQ((*columns)[1].description, "Login.");
    EXPECT_EQ((*columns)[3].name, "address.city");
    auto history = (*store)->GetSchemaHistory(wide);
    auto expected_history = (*reference)->GetSchemaHistory(wide);
    ASSERT_TRUE(history.ok() && expected_history.ok());
    ASSERT_EQ(history->size(), expected_history->size());
    for (size_t i = 0; i < history->size(); ++i) {
      EXPECT_EQ((*history)[i].observed_at, (*expected_history)[i].observed_at) << i;
      EXPECT_EQ((*history)[i].columns, (*expected_history)[i].columns) << i;
    }
    EXPECT_GE(history->size(), 4u);  // s1 (and the late s2 before it), s2, s3, s1 again
    store->reset();
    factory.Cleanup();
  }
  reference->reset();
  reference_factory.Cleanup();
}

}  // namespace
}  // namespace tidemark::collector
