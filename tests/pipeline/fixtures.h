#pragma once

// Shared set-up for pipeline tests: a store (SQLite file or PostgreSQL) with a small lineage
// graph and series, written through the real Store::Write.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <type_traits>

#include "catalog/test_stores.h"
#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"

namespace tidemark::pipeline::testing {

using namespace std::chrono_literals;
using model::AssetKey;
using model::Timestamp;

inline Timestamp Day(int d) {
  return model::ParseTimestamp("2026-01-01T06:00:00Z").value() + std::chrono::days(d);
}

inline AssetKey Key(const std::string& name) { return {"postgres://db:5432", name}; }

inline model::Asset Table(const std::string& name, model::AssetKind kind = model::AssetKind::kTable) {
  model::Asset a;
  a.key = Key(name);
  a.kind = kind;
  a.name = name;
  a.source = "test";
  return a;
}

inline model::LineageEdge Edge(const std::string& up, const std::string& down) {
  model::LineageEdge e;
  e.upstream = Key(up);
  e.downstream = Key(down);
  e.origin = "test";
  return e;
}

// Daily rows_affected around 1000 (seed printed by the caller) for days [0, days).
inline void AppendLoads(catalog::WriteBatch& batch, const std::string& name, int days,
                        unsigned seed, int from = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 15);
  for (int d = from; d < days; ++d) {
    batch.AppendMetricPoint({Key(name), "rows_affected", Day(d), std::round(1000 + noise(rng))});
  }
}

// A volume drop on `name` at `at`, as the detection job stores it.
inline model::Anomaly DropAnomaly(const std::string& name, Timestamp at, const std::string& id) {
  model::Anomaly a;
  a.asset = Key(name);
  a.metric = "rows_affected";
  a.detector = "volume";
  a.ts = at;
  a.value = 5;
  a.expected_low = 900;
  a.expected_high = 1100;
  a.direction = "drop";
  a.severity = model::Severity::kError;
  a.explanation = "rows_affected dropped to 5";
  a.detected_at = at;
  a.id = id;
  return a;
}

inline model::NodeResult TestResult(const std::string& run, const std::string& test,
                                    const std::string& asset, const std::string& status,
                                    Timestamp at) {
  model::NodeResult r;
  r.run_id = run;
  r.node_id = test;
  r.asset = Key(asset);
  r.node_kind = "test";
  r.status = status;
  r.completed_at = at;
  if (status == "fail") r.failures = 3;
  return r;
}

inline model::Run DbtRun(const std::string& id, Timestamp at) {
  model::Run run;
  run.id = id;
  run.source = "dbt";
  run.state = model::RunState::kComplete;
  run.started_at = at;
  run.ended_at = at;
  run.event_time = at;
  return run;
}

// A fresh store of Factory's kind (catalog::testing::SqliteFileFactory or PostgresFactory) on a
// manual clock at Day(60), for the typed pipeline suites. A suite that sets up more calls
// StoreFixture<Factory>::SetUp() first and returns when it failed or skipped.
template <typename Factory>
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Factory, catalog::testing::PostgresFactory>) TM_REQUIRE_PG();
    auto store = factory_.Open(&clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    factory_.Cleanup();
  }
  // Writes `batch`, failing the test on an error.
  void Write(const catalog::WriteBatch& batch) {
    auto r = store_->Write(batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  bool SetUpStopped() { return this->HasFatalFailure() || this->IsSkipped(); }

  Factory factory_;
  model::ManualClock clock_{Day(60)};
  std::unique_ptr<catalog::Store> store_;
};

}  // namespace tidemark::pipeline::testing
