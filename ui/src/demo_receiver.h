#pragma once

// DemoReceiver: the webhook receiver `tidemark demo` runs inside itself, so the demo shows
// alerts arriving over a real signed webhook without any outside service. It is what a team
// writes to receive Tidemark's generic webhook channel:
//
//   POST /demo/receiver  verifies Tidemark-Signature (HMAC-SHA256 of "timestamp.body" with the
//                        shared secret; pipeline/notifier.h) and rejects a Tidemark-Timestamp
//                        more than five minutes away from now (401 either way, nothing kept);
//                        a body that is not a JSON object is 400. An Idempotency-Key seen
//                        before is acknowledged (200) and dropped. Otherwise the alert is
//                        appended to the receiver's file (JSON Lines: received_at, event,
//                        idempotency_key, payload) and kept in memory: 200.
//   GET  /demo/alerts    a self-contained HTML page (no script, every value escaped) listing
//                        what was received, newest first.
//
// The file makes the page survive restarts: Open() reads it back (a torn last line, from a
// crash mid-write, is skipped).
//
// Thread-safety: Receive() and Page() may be called concurrently (one mutex).

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/http.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

class DemoReceiver {
 public:
  // `secret` verifies signatures; `file` keeps what was received (created when missing).
  // IoError when the file exists but cannot be read. `clock` must outlive the receiver.
  static model::Result<std::unique_ptr<DemoReceiver>> Open(std::string secret, std::string file,
                                                           const model::Clock& clock);

  // The POST handler (above).
  Response Receive(const Request& request);
  // The GET page (above).
  Response Page() const;
  // Registers both routes on `router`. The receiver must outlive the router's use.
  model::Status AddRoutes(Router& router);

  // Alerts kept (without duplicates).
  size_t size() const;

 private:
  struct Received {
    std::string received_at;
    std::string event;
    std::string idempotency_key;
    std::string payload;  // JSON object text
  };
  DemoReceiver(std::string secret, std::string file, const model::Clock& clock)
      : secret_(std::move(secret)), file_(std::move(file)), clock_(clock) {}

  const std::string secret_;
  const std::string file_;
  const model::Clock& clock_;
  mutable std::mutex mu_;
  std::vector<Received> received_;  // oldest first
  std::set<std::string> keys_;
};

}  // namespace tidemark::ui
