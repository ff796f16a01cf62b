#pragma once

// PostOnce: one HTTP(S) POST with a deadline, for the notifiers. The pipeline's only Beast
// translation unit is http_client.cc (Beast costs 15-20 s per unit to compile).
//
// https:// verifies the server certificate against the system store (and `ca_file` when
// given) and the host name (SNI set); http:// is allowed for loopback receivers and tests.
// Redirects are never followed: a 3xx comes back as a response like any other, and the
// caller refuses it. The whole exchange (resolve, connect, handshake, write, read) must end
// within `timeout`. Thread-safe: each call uses its own I/O context.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::pipeline {

struct HttpResult {
  int status = 0;
  std::string body;                        // at most 64 KiB kept
  std::optional<std::chrono::seconds> retry_after;  // from Retry-After (seconds form)
};

// Unavailable for network failures, timeouts and TLS errors (the message says which);
// InvalidArgument for a URL that is not http(s)://host[:port]/path.
model::Result<HttpResult> PostOnce(std::string_view url,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   std::string_view body, std::chrono::milliseconds timeout,
                                   const std::string& ca_file);

}  // namespace tidemark::pipeline
