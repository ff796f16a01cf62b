#pragma once

// The nightly report: one page a data team reads every morning. What went wrong in the window
// (anomalies, failed dbt nodes, schema changes), what is still wrong (open incidents, late
// assets), and whether things are getting better (each headline number beside the same number
// for the window before).
//
// BuildReport reads everything from the store (assets, series, schema snapshots, run results,
// anomalies, incidents); it writes nothing. The renderers turn the result into
//  - HTML: one self-contained file (inline CSS and SVG, no script, no network request),
//    readable on a phone and printable;
//  - Markdown, for chat and git;
//  - JSON, for machines (the same content, charts as their downsampled points).
// An empty store or an empty window yields a short report saying so, not an error.
//
// Thread-safety: BuildReport may run concurrently with writers (it reads through the store's
// own consistency); renderers are pure.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::pipeline {

struct ReportOptions {
  // The window reported on: since <= t < until. The previous window is as long and ends at
  // `since`.
  model::Timestamp since{};
  model::Timestamp until{};
  std::string title = "Tidemark nightly report";
  // Charts drawn at most (the highest-severity, highest-score anomalies first); the others
  // are listed without a chart.
  size_t max_charts = 500;
  // Points drawn per chart at most (min/max per bucket keep spikes and drops visible).
  size_t max_chart_points = 160;
  // Rows of the freshness, slowest-model, most-grown and noisiest tables.
  size_t max_rows = 25;
  // "Noisiest assets" counts anomalies over this many days before `until`.
  int noisy_days = 30;
  // How far downstream impact is followed.
  int max_lineage_depth = 8;
};

// The numbers at the top, for one window.
struct ReportHeadline {
  long long assets = 0;         // monitored: not removed
  long long fresh = 0;          // assets with an update history, on time at the window's end
  long long late = 0;
  long long anomalies = 0;
  std::map<std::string, long long> anomalies_by_detector;
  long long incidents_opened = 0;
  long long incidents_resolved = 0;
  long long incidents_open = 0;  // open or acknowledged at the window's end
  long long dbt_runs = 0;
  long long dbt_model_failures = 0;  // models and seeds/snapshots: error
  long long dbt_test_failures = 0;   // tests: fail or error
  long long schema_changes = 0;
};

struct ReportAssetRef {
  model::AssetKey key;
  std::string name;  // display name; the key's name when the asset is unknown
  std::string kind;  // AssetKindName
};

struct ReportOwner {
  std::string id;
  std::string name;
  std::string email;
  std::string role;
};

struct ReportIncident {
  model::Incident incident;
  ReportAssetRef root;
  std::vector<model::Anomaly> symptoms;     // newest first
  std::vector<ReportAssetRef> downstream;   // nearest first, exposures included
  std::vector<ReportOwner> owners;          // of the root, then of the symptoms' assets
};

// One anomaly's evidence as a picture: the series over its training window and up to the
// detection, the expected range, the flagged points, when it was detected.
struct ReportChart {
  model::Anomaly anomaly;
  std::string asset_name;
  std::string y_label;                  // "rows", "hours since previous update", ...
  std::vector<model::Timestamp> ts;     // downsampled, time order
  std::vector<double> values;
  std::vector<std::pair<model::Timestamp, double>> flagged;  // this series' anomalies in view
  model::Timestamp view_from{}, view_to{};
};

struct ReportFreshnessRow {
  ReportAssetRef asset;
  std::optional<model::Timestamp> last_update;
  std::optional<model::Timestamp> expected_by;  // last update + allowed wait
  double lateness_s = 0;                        // > 0 when late
  std::string severity;                         // "", "warn", "error"
  std::string rule;                             // "dbt freshness: warn 2h, error 6h" / "learned"
};

struct ReportSchemaChange {
  ReportAssetRef asset;
  model::Timestamp observed_at{};
  std::vector<model::Column> before, after;
  std::vector<std::string> changes;  // "removed column category (VARCHAR)", ...
  bool breaking = false;
  std::vector<ReportAssetRef> downstream;
  std::vector<ReportAssetRef> broken;  // downstream assets whose dbt node failed since
};

struct ReportFailure {
  std::string run_id;
  std::string node_id;
  std::string node_kind;
  std::string status;
  ReportAssetRef asset;
  std::optional<model::Timestamp> completed_at;
  std::optional<long long> failures;
  std::string message;
};

struct ReportModelRow {
  ReportAssetRef asset;
  double latest_s = 0;          // newest build duration
  double baseline_s = 0;        // median duration in the first week of the noisy window
  double duration_growth = 0;   // latest / baseline - 1
  std::optional<double> rows_latest;
  std::optional<double> rows_growth;  // over the noisy window
};

struct ReportNoisyRow {
  ReportAssetRef asset;
  long long anomalies = 0;
  std::map<std::string, long long> by_detector;
};

struct ReportData {
  std::string title;
  model::Timestamp since{}, until{};
  bool empty_store = false;  // no asset at all: a brand-new installation
  ReportHeadline current, previous;
  std::vector<ReportIncident> open_incidents;  // most severe, then newest first
  std::vector<model::Anomaly> anomalies;       // in the window, most severe first
  std::vector<ReportChart> charts;
  std::vector<ReportFreshnessRow> freshness;   // late first, then by expected update
  std::vector<ReportSchemaChange> schema_changes;
  std::vector<ReportFailure> failures;         // failed and skipped dbt nodes in the window
  std::vector<ReportModelRow> slowest;         // by newest duration
  std::vector<ReportModelRow> most_grown;      // by duration growth
  std::vector<ReportNoisyRow> noisiest;
};

// Reads what the report needs from `store`. InvalidArgument when until <= since; store
// errors as the store reported them.
model::Result<ReportData> BuildReport(catalog::Store& store, const ReportOptions& options);

std::string RenderReportHtml(const ReportData& report);

// `text` safe inside HTML text and quoted attribute values (& < > " ' escaped).
std::string HtmlEscape(std::string_view text);
std::string RenderReportMarkdown(const ReportData& report);
std::string RenderReportJson(const ReportData& report);

// "24h", "7d", "90m", "3600s", "2w" -> a duration. InvalidArgument otherwise.
model::Result<std::chrono::seconds> ParseReportDuration(std::string_view text);

}  // namespace tidemark::pipeline
