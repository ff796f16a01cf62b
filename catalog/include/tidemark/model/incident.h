#pragma once

// What detection produces (Anomaly), how it is grouped for people (Incident), and how an
// incident reaches a channel (Alert, a row of the durable outbox).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/time.h"

namespace tidemark::model {

enum class Severity { kInfo, kWarn, kError };
std::string_view SeverityName(Severity s);  // "info", "warn", "error"
std::optional<Severity> ParseSeverity(std::string_view name);

// One flagged point, with the evidence for it.
struct Anomaly {
  std::string id;                 // stable: derived from asset, metric, detector and ts
  AssetKey asset;
  std::string metric;
  std::string detector;           // "volume", "freshness", "schema", "column_metric", ...
  Timestamp ts{};                 // the point (or, for freshness, when it became late)
  double value = 0;
  double expected_low = 0;
  double expected_high = 0;
  double score = 0;
  std::string direction;          // "spike", "drop", "late", "change"
  Severity severity = Severity::kWarn;
  std::optional<Timestamp> train_start;
  std::optional<Timestamp> train_end;
  int train_size = 0;
  std::string seasonality;        // "none", "day_of_week", "hour_of_day", "hour_of_week"
  std::string explanation;        // one line for people
  Timestamp detected_at{};
  std::string incident_id;        // empty until grouped

  friend bool operator==(const Anomaly&, const Anomaly&) = default;
};

enum class IncidentState { kOpen, kAcknowledged, kResolved };
std::string_view IncidentStateName(IncidentState s);  // "open", "acknowledged", "resolved"
std::optional<IncidentState> ParseIncidentState(std::string_view name);

struct Incident {
  std::string id;
  AssetKey root;                  // the most upstream asset involved
  IncidentState state = IncidentState::kOpen;
  Severity severity = Severity::kWarn;
  std::string title;
  Timestamp opened_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> acknowledged_at;
  std::optional<Timestamp> resolved_at;
  std::string properties;         // JSON object text: symptoms, impact summary, ...

  friend bool operator==(const Incident&, const Incident&) = default;
};

enum class AlertState { kPending, kDelivered, kDead };
std::string_view AlertStateName(AlertState s);  // "pending", "delivered", "dead"
std::optional<AlertState> ParseAlertState(std::string_view name);

// One delivery of an incident's news to one channel. Rows are written in the same transaction
// as the decision to alert; a dispatcher claims due rows with a lease and delivers them at
// least once, sending `idempotency_key` so receivers can drop repeats.
struct Alert {
  std::string id;
  std::string incident_id;
  std::string channel;            // a channel name from the config (never its URL)
  std::string event;              // "opened", "updated", "resolved", "report"
  std::string payload;            // JSON object text handed to the notifier
  std::string idempotency_key;
  AlertState state = AlertState::kPending;
  int attempts = 0;
  Timestamp created_at{};
  Timestamp next_attempt_at{};
  std::optional<Timestamp> delivered_at;
  std::string last_error;
  std::string lease_owner;        // empty unless claimed
  std::optional<Timestamp> lease_expires_at;
};

}  // namespace tidemark::model
