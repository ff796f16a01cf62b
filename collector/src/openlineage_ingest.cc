// IngestOpenLineage: events -> validated -> the event log (one transaction) -> projected. Splitting
// files and bodies into events, and the JSON summary.

#include <chrono>
#include <nlohmann/json.hpp>

#include "openlineage_map.h"
#include "tidemark/collector/openlineage.h"
#include "tidemark/collector/openlineage_projector.h"
#include "tidemark/collector/openlineage_writer.h"
#include "tidemark/model/clock.h"

namespace tidemark::collector {

using model::Result;
using model::Status;

Result<OpenLineageReport> IngestOpenLineage(catalog::Store& store,
                                            const std::vector<OpenLineageDocument>& events) {
  auto start = std::chrono::steady_clock::now();
  // Validated whole first (the counts are the mapping's), appended to the event log in one
  // transaction, then projected before returning, as the service's projector would.
  OpenLineageReport report;
  TM_ASSIGN_OR_RETURN(auto logged, ValidateForLog(events, model::SystemClock().Now(), report));
  TM_RETURN_IF_ERROR(store.AppendLineageEvents(logged).status());
  OpenLineageProjector projector(store);
  TM_ASSIGN_OR_RETURN(report.write, projector.ProjectAll());
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<std::vector<OpenLineageDocument>> SplitOpenLineageEvents(std::string_view text,
                                                               std::string_view name) {
  std::vector<OpenLineageDocument> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return Status::InvalidArgument("no events: the input is empty", std::string(name));
  }
  // One document (an object or an array of them) when the whole text parses as JSON.
  auto whole = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded() && (whole.is_object() || whole.is_array())) {
    if (whole.is_object()) {
      out.push_back({std::string(name), std::string(text)});
      return out;
    }
    if (whole.empty()) return Status::InvalidArgument("no events: the array is empty", std::string(name));
    for (size_t i = 0; i < whole.size(); ++i) {
      std::string where = std::string(name) + ": /" + std::to_string(i);
      if (!whole[i].is_object()) return Status::InvalidArgument("an event must be a JSON object", where);
      out.push_back({where, whole[i].dump()});
    }
    return out;
  }
  if (!whole.is_discarded()) {
    return Status::InvalidArgument("an event must be a JSON object", std::string(name));
  }
  // NDJSON: one event per non-blank line. A single multi-line document that is not valid
  // JSON is reported by its first line's problem, with that line's number.
  size_t line_no = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    ++line_no;
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    out.push_back({std::string(name) + " line " + std::to_string(line_no), std::string(line)});
  }
  return out;
}

std::string OpenLineageReport::ToJson() const {
  nlohmann::json j = {
      {"events",
       {{"total", events},
        {"run_events", run_events},
        {"job_events", job_events},
        {"dataset_events", dataset_events}}},
      {"runs", runs},
      {"jobs", jobs},
      {"datasets", datasets},
      {"lineage_edges", lineage_edges},
      {"column_edges", column_edges},
      {"owners", owners},
      {"metric_points", metric_points},
      {"schema_snapshots", schema_snapshots},
      {"test_results", test_results},
      {"written",
       {{"assets", write.assets_written},
        {"assets_unchanged", write.assets_unchanged},
        {"edges", write.edges_written},
        {"runs", write.runs_written},
        {"points", write.points_written},
        {"points_skipped", write.points_skipped},
        {"snapshots", write.snapshots_written}}},
      {"elapsed_ms", elapsed_ms}};
  return j.dump();
}

}  // namespace tidemark::collector
