#pragma once

// Deliverer: the dispatcher of the durable alert outbox.
//
// DeliverOnce claims up to `batch` due alerts under a lease (Store::ClaimAlerts: two workers,
// even in two processes on one PostgreSQL, never hold the same alert), renders each for its
// channel (notifier.h) and POSTs it. A 2xx marks it delivered (recorded in groups of up to 32,
// one commit each: Store::MarkAlertsDelivered). Anything else — a network
// error, a timeout, a 5xx, a 429, a redirect (never followed) — records the attempt and
// schedules a retry after an exponential backoff with full jitter (base · 2^attempts, capped,
// a random point in its upper half), or after the receiver's Retry-After when it sends one;
// after `max_attempts` attempts the alert is dead (visible in ListAlerts and the API). An
// alert whose channel is not configured, or whose payload is unreadable, is dead at once.
// A crash after sending but before recording means the lease expires and the alert is sent
// again: delivery is at least once, and every request carries the same Idempotency-Key.
//
// A channel of kind file is local: the rendered line is appended to its file (created with
// its folder when missing, mode 0640) in one write, flushed to disk (fsync) before the alert
// is recorded as delivered; a failure to write is retried like a failed request. Lines carry
// the idempotency key, so a repeat after a crash can be told apart.
//
// Thread-safety: one Deliverer per thread; several Deliverers (different `worker` names) may
// share a store. `store`, `clock` and `routing` are borrowed and must outlive it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::pipeline {

struct DelivererOptions {
  std::string worker = "tidemark";  // lease owner name; unique per process
  size_t batch = 64;
  std::chrono::seconds lease{120};
  int max_attempts = 8;
  std::chrono::milliseconds base_backoff{2000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  std::uint64_t seed = 0;  // jitter; 0: from the random device
};

struct DeliveryStats {
  long long claimed = 0;
  long long delivered = 0;
  long long retried = 0;
  long long dead = 0;
  long long lease_lost = 0;  // sent, but the lease had passed to another worker meanwhile
  std::string ToJson() const;
};

class Deliverer {
 public:
  Deliverer(catalog::Store& store, const model::Clock& clock, const RoutingConfig& routing,
            DelivererOptions options);

  // One claim-and-send round. Store errors are returned; delivery failures are recorded.
  model::Result<DeliveryStats> DeliverOnce();
  // Rounds until nothing due is left (or `max_rounds`), summing their stats.
  model::Result<DeliveryStats> Drain(int max_rounds = 1000);

 private:
  std::chrono::milliseconds Backoff(int attempts);

  catalog::Store& store_;
  const model::Clock& clock_;
  const RoutingConfig& routing_;
  DelivererOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace tidemark::pipeline
