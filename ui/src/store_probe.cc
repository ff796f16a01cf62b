#include "store_probe.h"

#include "tidemark/ui/redact.h"

namespace tidemark::ui {

StoreProbe::StoreProbe(catalog::Store& store, Metrics& metrics, std::chrono::milliseconds interval)
    : store_(store), metrics_(metrics), interval_(interval) {
  Probe();
  thread_ = std::jthread([this](std::stop_token stop) { Loop(std::move(stop)); });
}

StoreProbe::~StoreProbe() {
  thread_.request_stop();  // wakes the wait in Loop through the stop token
  if (thread_.joinable()) thread_.join();
}

StoreProbe::Reading StoreProbe::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void StoreProbe::Loop(std::stop_token stop) {
  std::mutex wait_mu;
  std::unique_lock lock(wait_mu);
  while (!wake_.wait_for(lock, stop, interval_, [] { return false; }) && !stop.stop_requested()) {
    Probe();
  }
}

void StoreProbe::Probe() {
  Reading reading;
  {
    std::lock_guard lock(mu_);
    reading.schema_version = latest_.schema_version;
  }
  model::Status status = store_.Ping();
  metrics_.RecordStoreOperation("ping", status);
  reading.reachable = status.ok();
  // Store messages are meant to be safe, but this one is served to anyone asking /health.
  if (!status.ok()) reading.error = RedactSecrets(status.message());
  // The version only changes through a migration, which a running service does at start-up:
  // read it once, and again only if the store was unreachable when we first tried.
  if (reading.reachable && !reading.schema_version) {
    model::Result<int> version = store_.SchemaVersion();
    metrics_.RecordStoreOperation("schema_version", version.status());
    if (version.ok()) reading.schema_version = *version;
  }
  if (reading.reachable) {
    model::Result<catalog::AlertCounts> alerts = store_.CountAlerts();
    metrics_.RecordStoreOperation("count_alerts", alerts.status());
    if (alerts.ok()) metrics_.SetAlertOutbox(alerts->pending, alerts->delivered, alerts->dead);
  }
  std::lock_guard lock(mu_);
  latest_ = std::move(reading);
}

}  // namespace tidemark::ui
