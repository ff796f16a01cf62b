#pragma once

// `tidemark demo`: what the demo does to its store before serving, and where it keeps its
// files.

#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/detection.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::ui {

// The demo's files, all in one folder: beside the SQLite store, or the working directory for
// PostgreSQL.
struct DemoPaths {
  std::string dir;
  std::string report_dir;     // <dir>/tidemark-demo-reports
  std::string alert_log;      // <dir>/tidemark-demo-alerts.log: the file channel
  std::string receiver_file;  // <dir>/tidemark-demo-received.jsonl: the receiver's record
};
DemoPaths DemoPathsFor(std::string_view db_url);

// The demo's channel names.
inline constexpr std::string_view kDemoLogChannel = "demo-alert-log";
inline constexpr std::string_view kDemoReceiverChannel = "demo-receiver";

// The demo's routing: two local channels, the alert log (kind file) and the built-in
// receiver (a signed webhook to `receiver_url` with `secret`), and one route sending every
// incident to both. The config's own channels are not used: the demo never posts to a chat.
pipeline::RoutingConfig DemoRouting(const DemoPaths& paths, const std::string& receiver_url,
                                    const std::string& secret);

// Detection and grouping as the demo runs them: the backfill covers the history's incidents
// (the oldest lies about ten days back) and every incident, past ones included, is announced.
pipeline::DetectionOptions DemoDetectionOptions();
pipeline::IncidentOptions DemoIncidentOptions();

// What the demo prepared, for the lines it prints.
struct DemoOutcome {
  long long anomalies = 0;        // stored anomalies (new ones and those of earlier runs)
  long long open_incidents = 0;
  std::vector<model::Incident> incidents;  // all of them, the newest opened first
  std::string report_dir;         // where the demo's report was written
  std::string report_file;        // its file name, served at /reports/<name>
};

// Loads the demo stack (pipeline::LoadDemoData) into `store`, runs the detectors over it,
// groups what they found into incidents (alerts go to the channels of `routing`), and
// writes the nightly report over the last `report_days` days into `report_dir`, all as of
// `clock`'s now. Idempotent: a second run on the same store adds nothing (and enqueues no
// alert twice).
model::Result<DemoOutcome> PrepareDemo(catalog::Store& store, const model::Clock& clock,
                                       const pipeline::RoutingConfig& routing,
                                       const std::string& report_dir, int report_days = 30);

// One line per incident for the terminal: "open   2026-12-05 17:15  hubspot_contacts: ...".
std::string DemoIncidentLine(const model::Incident& incident);

}  // namespace tidemark::ui
