#pragma once

// Runs of the tools Tidemark watches, and the per-node results inside them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/time.h"

namespace tidemark::model {

// OpenLineage's run states, which also cover dbt's invocation outcome.
enum class RunState { kStart, kRunning, kComplete, kAbort, kFail, kOther };
std::string_view RunStateName(RunState state);  // "START", "RUNNING", ... as OpenLineage spells them
std::optional<RunState> ParseRunState(std::string_view name);
// COMPLETE, ABORT and FAIL end a run; an ending state is never replaced by a non-ending one.
bool IsTerminal(RunState state);

// One execution: a dbt invocation (id = invocation_id) or an OpenLineage run (id = runId).
struct Run {
  std::string id;
  AssetKey job;              // the job asset that ran; empty for a dbt invocation
  std::string source;        // "dbt", "openlineage", ...
  RunState state = RunState::kOther;
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> ended_at;
  std::optional<Timestamp> nominal_time;
  std::string parent_run_id;
  std::string error_message;
  std::string properties;    // JSON object text (dbt version, args, facets kept as-is)
  Timestamp event_time{};    // time of the newest event that set `state`

  friend bool operator==(const Run&, const Run&) = default;
};

// What happened to one node (model, test, seed, snapshot, source freshness) inside a run.
struct NodeResult {
  std::string run_id;
  std::string node_id;       // the tool's id: "model.shop.fct_purchases", "test.shop.not_null_..."
  AssetKey asset;            // the asset the node builds or tests; may be empty
  std::string node_kind;     // "model", "test", "seed", "snapshot", "source", ...
  std::string status;        // the tool's own word: "success", "error", "fail", "warn", "pass", ...
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> completed_at;
  std::optional<double> execution_time_s;
  std::optional<long long> rows_affected;
  std::optional<long long> failures;
  std::string message;
  std::string thread;
  std::string properties;    // JSON object text

  friend bool operator==(const NodeResult&, const NodeResult&) = default;
};

}  // namespace tidemark::model
