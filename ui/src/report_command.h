#pragma once

// `tidemark report`: renders the nightly report from the store to a file or standard output.

#include <string>

#include "tidemark/ui/config.h"

namespace tidemark::ui {

struct ReportArgs {
  std::string since = "24h";   // a duration before --until, or an ISO-8601 time
  std::string until = "now";   // "now" or an ISO-8601 time
  std::string format = "html"; // html, md or json
  std::string out;             // empty or "-": standard output
  std::string title;
};

// Returns the process exit code: 0, 1 (store or write failure), 2 (bad arguments).
int RunReport(const Config& config, const ReportArgs& args);

}  // namespace tidemark::ui
