#pragma once

// The dbt artifacts collector: reads what dbt writes into target/ (manifest.json,
// run_results.json, sources.json, catalog.json) and turns it into catalog writes.
//
// Every schema version dbt has published is accepted: manifest v1-v12 (dbt 0.19 to 1.12 and
// the Fusion preview, whose keys come sorted), run_results v1-v6, sources v1-v3, catalog v1.
// Shape is read leniently (unknown fields are ignored, fields that moved between versions are
// looked for in each place), meaning strictly: a document that is not JSON, is truncated, or
// has a wrong type where the meaning depends on it is rejected with a Status naming the file,
// the JSON path and the line, and nothing from that call is stored.
//
// Mapping, in brief (the .cc files give the reasons):
//  - models, seeds, snapshots -> kTable (kView for views), sources -> kSource, exposures ->
//    kExposure, metrics, semantic models and saved queries -> kMetric, analyses -> kAnalysis;
//    ephemeral models are not assets (lineage is resolved through them); tests, macros and
//    disabled nodes are not assets.
//  - dataset key: namespace = DbtOptions::ns, else the manifest's adapter_type ("dbt" when
//    absent); name = relation_name without quotes, else database.schema.alias. Other nodes get
//    namespace "dbt://<project>" and their unique_id as name. Every unique_id is an alias.
//  - run_results: one Run per invocation, one NodeResult per result, model durations and rows
//    affected as metric points; sources.json: freshness points and results; catalog.json:
//    column types, schema snapshots and table stats as metric points.
//
// Thread-safety: the functions are reentrant; concurrent ingests of one project into one store
// are serialised by the store's transaction, the later one winning.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"

namespace tidemark::collector {

// Bytes a document's text should have reserved past its end (capacity() - size()) so the
// JSON parser can read it in place; texts without them are copied once before parsing.
inline constexpr size_t kDbtJsonPadding = 64;

// One artifact as text. `name_for_errors` is what error messages call it: a file path, or
// "request.manifest" for an HTTP body.
struct DbtDocument {
  std::string name_for_errors;
  std::string json_text;

  bool present() const { return !json_text.empty(); }
};

// Up to four artifacts ingested together, as one transaction. Absent ones are empty.
struct DbtArtifacts {
  DbtDocument manifest;
  DbtDocument run_results;
  DbtDocument sources;
  DbtDocument catalog;
};

struct DbtOptions {
  // Namespace of dataset keys; empty means the manifest's adapter_type.
  std::string ns;
  // Project name; empty means the manifest's metadata (project_name, or the package whose
  // md5 is project_id).
  std::string project;
  // Times the ingest (elapsed_ms) and dates records an artifact leaves undated. nullptr means
  // the system clock. Borrowed: must outlive the call.
  const model::Clock* clock = nullptr;
  // Ingest every artifact even when it is byte-identical to the last one ingested, and rewrite
  // every asset even when unchanged since the last manifest.
  bool force = false;
  // When set, a run_results.json for another invocation is rejected (the caller said which
  // run it is sending; a mismatch means the wrong file).
  std::string expected_invocation_id;
};

struct DbtWarning {
  std::string where;  // file and JSON path
  std::string message;

  friend bool operator==(const DbtWarning&, const DbtWarning&) = default;
};

// What an ingest did. Counts are of records sent to the store in this call (an unchanged
// artifact or asset sends none); `write` says what the store actually changed.
struct DbtIngestReport {
  // Assets by kind name ("table", "view", "source", "exposure", "metric", "analysis").
  std::vector<std::pair<std::string, size_t>> assets_by_kind;
  size_t assets = 0;            // sum of assets_by_kind
  size_t assets_unchanged = 0;  // defined by the manifest but identical to the last ingest
  size_t assets_removed = 0;    // in the project's previous manifest, gone from this one
  size_t columns = 0;
  size_t lineage_edges = 0;
  size_t owners = 0;
  size_t tags = 0;  // tag assignments (asset, tag)
  size_t runs = 0;
  size_t node_results = 0;
  size_t metric_points = 0;
  size_t schema_snapshots = 0;
  std::vector<DbtWarning> warnings;  // at most kMaxWarnings, then one saying how many more
  size_t warnings_total = 0;

  // Per artifact: present in the call, and skipped because byte-identical to the last one.
  struct Artifact {
    bool present = false;
    bool unchanged = false;
    std::string schema_version;  // "manifest/v12", "run-results/v6", ...
  };
  Artifact manifest, run_results, sources, catalog;

  std::string project;
  std::string ns;
  catalog::WriteSummary write;
  double elapsed_ms = 0;

  // The JSON summary returned by `tidemark ingest dbt` and POST /api/v1/ingest/dbt.
  std::string ToJson() const;
};

inline constexpr size_t kMaxWarnings = 100;

// Reads a target/ folder or individual files into DbtArtifacts. Each path is a directory
// (its manifest.json, run_results.json, sources.json and catalog.json are read when present)
// or a file, recognised by its name or else by its metadata.dbt_schema_version.
// InvalidArgument when a path is missing, a file is not a dbt artifact, two files claim the
// same artifact, or nothing was found; IoError when a file cannot be read.
model::Result<DbtArtifacts> LoadDbtTarget(const std::vector<std::filesystem::path>& paths);

// Splits the body of POST /api/v1/ingest/dbt, a JSON object {"manifest": {...},
// "run_results": {...}, "sources": {...}, "catalog": {...}} (any subset; null members are
// absent), into DbtArtifacts named "request.manifest", ... Each member is copied as written,
// with padding reserved. InvalidArgument (with line and JSON path) when the body is not such
// an object or a member is not an object; unknown members are ignored.
model::Result<DbtArtifacts> DbtArtifactsFromRequestBody(std::string_view body);

// Validates `artifacts` and applies them to `store` in one Store::Write.
// On success returns what was done. InvalidArgument (with file, JSON path and line in
// Status::where) when an artifact is malformed, or a run_results/sources file belongs to
// another invocation than options.expected_invocation_id; nothing is stored then. Store
// errors are returned as the store reported them.
model::Result<DbtIngestReport> IngestDbt(catalog::Store& store, const DbtArtifacts& artifacts,
                                         const DbtOptions& options = {});

}  // namespace tidemark::collector
