#pragma once

// `tidemark demo`: what the demo does to its store before serving.

#include <string>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::ui {

// What the demo prepared, for the lines it prints.
struct DemoOutcome {
  long long anomalies = 0;        // stored anomalies (new ones and those of earlier runs)
  long long open_incidents = 0;
  std::string report_dir;         // where the demo's report was written
  std::string report_file;        // its file name, served at /reports/<name>
};

// Loads the demo stack (pipeline::LoadDemoData) into `store`, runs the detectors over it,
// groups what they found into incidents (alerts go to the channels of `routing`, none by
// default), and writes the nightly report over the last `report_days` days into
// `report_dir`. Idempotent: a second run on the same store adds nothing.
model::Result<DemoOutcome> PrepareDemo(catalog::Store& store,
                                       const pipeline::RoutingConfig& routing,
                                       const std::string& report_dir, int report_days = 30);

}  // namespace tidemark::ui
