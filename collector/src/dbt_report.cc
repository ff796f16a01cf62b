// The ingest summary as JSON: what `tidemark ingest dbt` prints and POST /api/v1/ingest/dbt
// returns. Field names are part of the API; add fields, never rename them.

#include <nlohmann/json.hpp>

#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

nlohmann::json ArtifactJson(const DbtIngestReport::Artifact& a) {
  nlohmann::json j = {{"present", a.present}};
  if (a.present) {
    j["unchanged"] = a.unchanged;
    j["schema_version"] = a.schema_version;
  }
  return j;
}

}  // namespace

std::string DbtIngestReport::ToJson() const {
  nlohmann::json by_kind = nlohmann::json::object();
  for (const auto& [kind, n] : assets_by_kind) by_kind[kind] = n;
  nlohmann::json warning_list = nlohmann::json::array();
  for (const DbtWarning& w : warnings) {
    warning_list.push_back({{"where", w.where}, {"message", w.message}});
  }
  nlohmann::json j = {
      {"project", project},
      {"namespace", ns},
      {"artifacts",
       {{"manifest", ArtifactJson(manifest)},
        {"run_results", ArtifactJson(run_results)},
        {"sources", ArtifactJson(sources)},
        {"catalog", ArtifactJson(catalog)}}},
      {"assets",
       {{"total", assets},
        {"by_kind", std::move(by_kind)},
        {"unchanged", assets_unchanged},
        {"removed", assets_removed}}},
      {"columns", columns},
      {"lineage_edges", lineage_edges},
      {"owners", owners},
      {"tags", tags},
      {"runs", runs},
      {"node_results", node_results},
      {"metric_points", metric_points},
      {"schema_snapshots", schema_snapshots},
      {"warnings", std::move(warning_list)},
      {"warnings_total", warnings_total},
      {"written",
       {{"assets", write.assets_written},
        {"assets_unchanged", write.assets_unchanged},
        {"assets_removed", write.assets_removed},
        {"columns", write.columns_written},
        {"edges", write.edges_written},
        {"runs", write.runs_written},
        {"node_results", write.node_results_written},
        {"metric_points", write.points_written},
        {"metric_points_skipped", write.points_skipped},
        {"schema_snapshots", write.snapshots_written},
        {"schema_snapshots_unchanged", write.snapshots_unchanged}}},
      {"elapsed_ms", elapsed_ms},
  };
  // Replacement keeps the summary printable even if a name carried invalid UTF-8.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tidemark::collector
