#include "tidemark/ui/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tidemark::ui {
namespace {

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, CounterRendersHelpTypeAndLabelledSamples) {
  Registry registry;
  auto& family = registry.AddCounter("jobs_total", "Jobs run.", {"kind", "result"});
  family.WithLabels({"dbt", "ok"}).Increment();
  family.WithLabels({"dbt", "ok"}).Increment(2);
  family.WithLabels({"airflow", "failed"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP jobs_total Jobs run.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{kind=\"airflow\",result=\"failed\"} 1\n"
            "jobs_total{kind=\"dbt\",result=\"ok\"} 3\n");
}

TEST(MetricsTest, UnlabelledFamiliesRenderZeroBeforeFirstUse) {
  Registry registry;
  registry.AddCounter("events_total", "Events.");
  registry.AddGauge("queue_depth", "Depth.").Get().Set(2.5);
  EXPECT_EQ(registry.Render(),
            "# HELP events_total Events.\n"
            "# TYPE events_total counter\n"
            "events_total 0\n"
            "# HELP queue_depth Depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 2.5\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.AddCounter("x_total", "Line one\nback\\slash", {"path"})
      .WithLabels({"a\"b\\c\nd"})
      .Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Line one\\nback\\\\slash\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  auto& family = registry.AddHistogram("latency_seconds", "Latency.", {"route"}, {0.25, 1});
  Histogram& histogram = family.WithLabels({"/health"});
  histogram.Observe(0.125);
  histogram.Observe(0.25);  // le is inclusive
  histogram.Observe(0.5);
  histogram.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/health\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{route=\"/health\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/health\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"/health\"} 3.875\n"
            "latency_seconds_count{route=\"/health\"} 4\n");
}

TEST(MetricsTest, CountsAreExactUnderConcurrentUpdates) {
  Registry registry;
  auto& family = registry.AddCounter("hits_total", "Hits.", {"t"});
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) family.WithLabels({"x"}).Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.WithLabels({"x"}).value(), uint64_t{kThreads} * kPerThread);
}

TEST(MetricsTest, TidemarkMetricsHaveTheirNamesAndLabels) {
  Metrics metrics("0.1.0");
  metrics.RecordHttpRequest("/health", "GET", 200, std::chrono::microseconds(300));
  metrics.RecordHttpRequest("unmatched", "BREW", 404, std::chrono::milliseconds(1));
  metrics.RecordStoreOperation("ping", model::Status::Ok());
  metrics.RecordStoreOperation("write", model::Status::Unavailable("down"));
  metrics.RecordIngestRecords("dbt", "written", 12);
  std::string text = metrics.Render();
  EXPECT_TRUE(Contains(text, "# TYPE tidemark_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(
      text, "tidemark_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 1\n"));
  // Invented methods cannot grow the label set.
  EXPECT_TRUE(Contains(
      text,
      "tidemark_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE tidemark_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(
      text, "tidemark_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(Contains(text, "tidemark_store_operations_total{op=\"ping\",result=\"ok\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "tidemark_store_operations_total{op=\"write\",result=\"unavailable\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "tidemark_ingest_records_total{source=\"dbt\",outcome=\"written\"} 12\n"));
  EXPECT_TRUE(Contains(text, "tidemark_build_info{version=\"0.1.0\"} 1\n"));
  EXPECT_TRUE(Contains(text, "tidemark_up 1\n"));
}

TEST(MetricsTest, DetectionRunsAreCountedAndTheLastSuccessIsKept) {
  Metrics metrics("0.1.0");
  std::string text = metrics.Render();
  EXPECT_TRUE(Contains(text, "tidemark_detection_runs_total{result=\"ok\"} 0\n"));
  EXPECT_TRUE(Contains(text, "tidemark_detection_runs_total{result=\"failed\"} 0\n"));
  const auto finished = std::chrono::system_clock::time_point(std::chrono::seconds(1796577123));
  metrics.RecordDetectionRun(true, finished, 18.25, 3);
  metrics.RecordDetectionRun(true, finished + std::chrono::minutes(5), 2.5, 0);
  // A failed run is counted and changes nothing the last success said.
  metrics.RecordDetectionRun(false, finished + std::chrono::minutes(10), 0, 0);
  text = metrics.Render();
  EXPECT_TRUE(Contains(text, "tidemark_detection_runs_total{result=\"ok\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "tidemark_detection_runs_total{result=\"failed\"} 1\n"));
  EXPECT_TRUE(Contains(text, "tidemark_detection_anomalies_total 3\n"));
  EXPECT_TRUE(Contains(text, "tidemark_detection_last_success_timestamp_seconds 1796577423\n"));
  EXPECT_TRUE(Contains(text, "tidemark_detection_last_run_seconds 2.5\n"));
}

}  // namespace
}  // namespace tidemark::ui
