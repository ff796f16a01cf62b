#pragma once

// The nightly report's summary in chat: a short message with the report's headline counts,
// its top open incidents and a link to it, posted to the channels named in the config's
// `report.notify` through the durable alert outbox (the Deliverer sends it like any alert, in
// the channel's own format: Slack Block Kit, a Teams Adaptive Card, or the signed JSON itself
// on a generic webhook; notifier.h renders it).
//
// The outbox row: incident_id and the payload's `report_id` are the report's id (its file
// name without ".html", "report-20261122T0700Z"), event "report", idempotency key
// "report:<report_id>:<channel>". Enqueueing the same report again (a retried fire, two
// instances on one PostgreSQL writing the same report) adds nothing: each channel gets one
// summary per report.
//
// Payload (a JSON object):
//   event "report", report_id, idempotency_key, title, since, until, url (the report; may be
//   empty), counts {anomalies, anomalies_by_detector {detector: n}, incidents_open,
//   incidents_opened, incidents_resolved, assets, late, dbt_model_failures,
//   dbt_test_failures, schema_changes}, previous {the same counts over the window before},
//   top_incidents [{id, title, severity, state, root, symptoms, downstream, url}] (at most
//   `top_incidents`, most severe first), open_incident_count.
//
// Thread-safety: reentrant; the store is used as Store::Write allows.

#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"
#include "tidemark/pipeline/report.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::pipeline {

struct ReportNotice {
  std::string report_id;              // "report-20261122T0700Z"
  std::string url;                    // link to the report; empty: none
  std::string base_url;               // for links to incidents; empty: none
  std::vector<std::string> channels;  // channel names from the config
  size_t top_incidents = 5;
};

// The payload described above, as JSON text.
std::string ReportSummaryPayload(const ReportData& report, const ReportNotice& notice);

// Enqueues the summary of `report` for each of notice.channels in one transaction, due at
// `now`. Returns how many alerts were new (0 when this report was enqueued before).
// InvalidArgument (where "report.notify") naming a channel that `routing` does not configure,
// or for an empty report_id; nothing is enqueued then. Store errors as the store reports them.
model::Result<size_t> EnqueueReportSummary(catalog::Store& store, const RoutingConfig& routing,
                                           const ReportData& report, const ReportNotice& notice,
                                           model::Timestamp now);

}  // namespace tidemark::pipeline
