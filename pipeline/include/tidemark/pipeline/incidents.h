#pragma once

// Incidents: anomalies and failures grouped by root cause, their lifecycle, and the alerts
// (outbox rows) each change of an incident decides.
//
// Grouping. UpdateIncidents reads the anomalies not yet in any incident (over `lookback`, at
// or above `min_severity`), oldest first. An anomaly on asset A joins an open or acknowledged
// incident when A is one of the incident's assets, or lies downstream of its root (A's
// upstream closure holds the root), and it comes at most `follow_on` after the incident's last
// symptom (a daily load failing two days running, a daily model built from a bad day of its
// hourly source); or when A lies upstream of the root within `window` of the last symptom
// (then A becomes the root: the root is always the most upstream asset involved). Nothing
// joins more than `window` before an incident's first symptom. Otherwise it opens a new
// incident with A as root, opened at the anomaly's time (the time the problem began, which for
// anomalies found by a backfill lies in the past). Lineage is walked over table-level and
// column-level edges (Store::GetEdges, upstream), at most `lineage_depth` hops.
// Lineage joins only what the upstream side can explain: late, missing or unbuilt data
// (freshness, volume, run) explains the same downstream, but a failed data test (dbt_test)
// downstream needs a schema change, a failed test or a column metric upstream, and a schema
// change downstream needs one upstream; otherwise they stay incidents of their own.
//
// Lifecycle: open -> acknowledged -> resolved. Resolution is automatic when every symptom has
// recovered: a volume or column metric has `recover_points` newer points none of which is
// flagged, a freshness lateness has a newer update, a failed test or build has passed its
// `recover_runs` latest runs, a schema change is `schema_quiet` old; or by hand
// (ResolveIncident). AcknowledgeIncident stops reminders. An incident of the past (found by a
// backfill) whose symptoms have all recovered is opened and resolved in the same run.
//
// Alerts: the decisions of one UpdateIncidents run (incidents, their anomalies' links and the
// alerts to every routed channel) are written in one transaction (the durable outbox;
// catalog::Store::Write); each manual transition is one transaction of its own. Events:
// "opened" when opened; "updated" when symptoms join, at most once per `suppress` (a join
// inside the interval is announced by the next run after it); "reminder" every `renotify`
// while open and not acknowledged (0: never); "acknowledged"; "resolved". Every alert
// carries an idempotency key "incident:event:sequence:channel", so the same decision
// re-made after a crash enqueues nothing twice and receivers can drop repeats.
//
// History is not news: an incident opened and resolved in the same run whose every symptom is
// older than `announce_within` (the first run over a store backfills days of history) is
// recorded and shown like any other, with property "history": true, but its alerts go only
// to local channels (kind file), not to chat channels (Slack, Teams, webhooks). An incident
// of the past that is still open is a current problem and is announced everywhere. Zero
// announces everything.
//
// Concurrency: every write of incident decisions (a grouping run, a manual transition) is
// guarded by a version kept in the checkpoint ("incidents", "version"): it applies only if
// nobody wrote incidents since it read them (WriteBatch::ExpectCheckpoint), else it is
// decided again from a fresh read (up to 5 times; then AlreadyExists, and the next run
// retries). So several instances grouping over one PostgreSQL store never act on a stale view:
// no duplicate incident, no lost symptom, no manual resolution overwritten by a grouper.
//
// Thread-safety: the functions may run concurrently, in one process or several.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::pipeline {

struct IncidentOptions {
  std::chrono::seconds window = std::chrono::hours(6);
  std::chrono::seconds follow_on = std::chrono::hours(30);
  // How old an ungrouped anomaly may be and still be grouped: at least the detection
  // backfill (DetectionOptions::backfill), or what it finds stays ungrouped.
  std::chrono::seconds lookback = std::chrono::days(14);
  model::Severity min_severity = model::Severity::kWarn;
  int lineage_depth = 20;
  int recover_points = 1;
  int recover_runs = 1;
  std::chrono::seconds schema_quiet = std::chrono::hours(24);
  std::chrono::seconds suppress = std::chrono::minutes(30);
  std::chrono::seconds renotify = std::chrono::hours(4);
  // Past incidents (opened already recovered, newest symptom older than this) are not sent
  // to chat channels (above); zero: no limit.
  std::chrono::seconds announce_within = std::chrono::hours(24);
  // Downstream impact: how far to walk, and how many names to show.
  int impact_depth = 10;
  size_t impact_top = 5;
};

struct IncidentSummary {
  long long anomalies_grouped = 0;
  long long opened = 0;
  long long joined = 0;
  long long resolved = 0;
  long long alerts_enqueued = 0;
  std::vector<std::string> opened_ids;
  std::string ToJson() const;
};

// Groups new anomalies, advances lifecycles and enqueues alerts, as of clock.Now().
model::Result<IncidentSummary> UpdateIncidents(catalog::Store& store, const model::Clock& clock,
                                               const RoutingConfig& routing,
                                               const IncidentOptions& options);

// Manual transitions, by `who` (free text, recorded). NotFound for an unknown id;
// InvalidArgument when resolved already (ack or resolve) — acknowledging twice is a no-op.
model::Result<model::Incident> AcknowledgeIncident(catalog::Store& store,
                                                   const model::Clock& clock,
                                                   std::string_view id, std::string_view who,
                                                   const RoutingConfig& routing);
model::Result<model::Incident> ResolveIncident(catalog::Store& store, const model::Clock& clock,
                                               std::string_view id, std::string_view who,
                                               const RoutingConfig& routing);

// The incident as the API shows it: its fields plus its properties (symptoms, assets, impact,
// channels) as JSON text.
std::string IncidentToJson(const model::Incident& incident);

}  // namespace tidemark::pipeline
