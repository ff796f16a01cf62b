// The service's background scheduler: detection at start and its report, alerts delivered on
// their own thread while a long detection run goes on, Stop() ending such a run, and what a
// write adds scored between periodic runs.
#include "tidemark/pipeline/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/fixtures.h"
#include "ui/temp_dir.h"

namespace tidemark::pipeline {
namespace {

using namespace testing;
using catalog::testing::SqliteFileFactory;

int CountLines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

class SchedulerTest : public StoreFixture<SqliteFileFactory> {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (SetUpStopped()) return;
    routing_.channels = {{"log", ChannelKind::kFile, log_.string(), "", 1000ms, ""}};
    routing_.default_channel = "log";
  }
  SchedulerOptions Options() {
    SchedulerOptions o;
    o.detect_interval = std::chrono::hours(1);
    o.deliver_interval = 20ms;
    o.delivery.worker = "scheduler-test";
    return o;
  }

  test::TempDir dir_{"tidemark-scheduler"};
  std::filesystem::path log_ = dir_.path() / "alerts.jsonl";
  RoutingConfig routing_;
};

TEST_F(SchedulerTest, DetectsAtStartReportsTheRunAndDeliversItsAlert) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  AppendLoads(batch, "orders", 59, 7);
  batch.AppendMetricPoint({Key("orders"), "rows_affected", Day(59), 120});  // the drop
  Write(batch);

  std::promise<model::Result<DetectionSummary>> reported;
  SchedulerOptions options = Options();
  options.on_detection = [&, once = std::make_shared<std::once_flag>()](const auto& run) {
    std::call_once(*once, [&] { reported.set_value(run); });
  };
  Scheduler scheduler(*store_, clock_, routing_, options);
  scheduler.Start();
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(60s), std::future_status::ready);
  model::Result<DetectionSummary> run = future.get();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->assets, 1);
  EXPECT_EQ(run->anomalies_new, 1) << run->ToJson();

  // The run grouped its anomaly into an incident; the delivery thread sends its alert.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (CountLines(log_) < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  scheduler.Stop();
  EXPECT_EQ(CountLines(log_), 1);
  EXPECT_EQ(store_->Counts()->anomalies, 1);
}

TEST_F(SchedulerTest, AlertsGoOutDuringALongDetectionRunAndStopEndsIt) {
  // An alert already waiting, and a catalog large enough for a run to take a while when
  // each asset is its own chunk.
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  batch.PutAnomaly(DropAnomaly("orders", Day(60), "drop-60"));
  for (int i = 0; i < 5000; ++i) batch.PutAsset(Table("t" + std::to_string(i)));
  Write(batch);
  auto opened = UpdateIncidents(*store_, clock_, routing_, {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_EQ(opened->alerts_enqueued, 1);

  std::atomic<bool> detection_done{false};
  std::atomic<bool> delivered_during_detection{false};
  std::promise<void> delivered;
  std::promise<model::Result<DetectionSummary>> reported;
  SchedulerOptions options = Options();
  options.detection.chunk_assets = 1;
  options.on_delivery = [&, once = std::make_shared<std::once_flag>()](const DeliveryStats& s) {
    if (s.delivered == 0) return;
    std::call_once(*once, [&] {
      delivered_during_detection = !detection_done;
      delivered.set_value();
    });
  };
  options.on_detection = [&](const model::Result<DetectionSummary>& run) {
    detection_done = true;
    reported.set_value(run);
  };
  Scheduler scheduler(*store_, clock_, routing_, options);
  scheduler.Start();
  ASSERT_EQ(delivered.get_future().wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(delivered_during_detection) << "the alert waited for the detection run";
  EXPECT_EQ(CountLines(log_), 1);

  const auto stopping = std::chrono::steady_clock::now();
  scheduler.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 10s);
  // The run was cut short, and a run cut short is not reported (neither failed nor done).
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::timeout)
      << "the run finished before Stop: " << future.get()->ToJson();
}

TEST_F(SchedulerTest, WhatAWriteAddsIsScoredBeforeTheNextPeriodicRun) {
  catalog::WriteBatch batch;
  batch.PutAsset(Table("orders"));
  batch.PutAsset(Table("customers"));
  AppendLoads(batch, "orders", 59, 7);
  AppendLoads(batch, "customers", 59, 8);
  Write(batch);

  // Each run's report, in order.
  std::mutex mu;
  std::condition_variable reported;
  std::vector<model::Result<DetectionSummary>> runs;
  auto wait_for_runs = [&](size_t n) {
    std::unique_lock lock(mu);
    return reported.wait_for(lock, 60s, [&] { return runs.size() >= n; });
  };
  SchedulerOptions options = Options();  // the periodic run: at start, then in an hour
  options.score_settle = 20ms;
  options.on_detection = [&](const model::Result<DetectionSummary>& run) {
    std::lock_guard lock(mu);
    runs.push_back(run);
    reported.notify_all();
  };
  Scheduler scheduler(*store_, clock_, routing_, options);
  store_->SetCommitObserver([&](const catalog::WriteBatch& written) {
    scheduler.ScoreSoon(AssetsToScore(written));
  });
  scheduler.Start();
  ASSERT_TRUE(wait_for_runs(1));
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(runs[0].ok()) << runs[0].status().ToString();
    EXPECT_EQ(runs[0]->assets, 2);
    EXPECT_EQ(runs[0]->anomalies_new, 0) << runs[0]->ToJson();
  }

  // An ingest brings today's load of orders: a drop. Only orders is scored, at once.
  catalog::WriteBatch today;
  today.AppendMetricPoint({Key("orders"), "rows_affected", Day(59), 120});
  Write(today);
  ASSERT_TRUE(wait_for_runs(2)) << "nothing was scored after the write";
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(runs[1].ok()) << runs[1].status().ToString();
    EXPECT_EQ(runs[1]->assets, 1) << runs[1]->ToJson();
    EXPECT_EQ(runs[1]->anomalies_new, 1) << runs[1]->ToJson();
  }
  // The run's anomaly was grouped into an incident, whose alert goes out.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (CountLines(log_) < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(CountLines(log_), 1);
  store_->SetCommitObserver(nullptr);
  scheduler.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(runs.size(), 2u) << "detection's own writes asked for more runs";
}

}  // namespace
}  // namespace tidemark::pipeline
