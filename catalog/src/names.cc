// Spellings of the model's enums: one table per enum, read both ways, so a name and its parse
// can never drift apart.

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/run.h"

namespace tidemark::model {
namespace {

template <typename E, size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

template <typename E, size_t N>
std::string_view NameOf(const NameTable<E, N>& table, E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> Lookup(const NameTable<E, N>& table, std::string_view name) {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  return std::nullopt;
}

constexpr NameTable<AssetKind, 10> kAssetKinds{{
    {AssetKind::kTable, "table"},
    {AssetKind::kSource, "source"},
    {AssetKind::kView, "view"},
    {AssetKind::kFile, "file"},
    {AssetKind::kTopic, "topic"},
    {AssetKind::kJob, "job"},
    {AssetKind::kExposure, "exposure"},
    {AssetKind::kMetric, "metric"},
    {AssetKind::kAnalysis, "analysis"},
    {AssetKind::kDataset, "dataset"},
}};

constexpr NameTable<AssetStatus, 3> kAssetStatuses{{
    {AssetStatus::kActive, "active"},
    {AssetStatus::kDeprecated, "deprecated"},
    {AssetStatus::kRemoved, "removed"},
}};

constexpr NameTable<OwnerKind, 2> kOwnerKinds{{
    {OwnerKind::kUser, "user"},
    {OwnerKind::kTeam, "team"},
}};

constexpr NameTable<RunState, 6> kRunStates{{
    {RunState::kStart, "START"},
    {RunState::kRunning, "RUNNING"},
    {RunState::kComplete, "COMPLETE"},
    {RunState::kAbort, "ABORT"},
    {RunState::kFail, "FAIL"},
    {RunState::kOther, "OTHER"},
}};

constexpr NameTable<Severity, 3> kSeverities{{
    {Severity::kInfo, "info"},
    {Severity::kWarn, "warn"},
    {Severity::kError, "error"},
}};

constexpr NameTable<IncidentState, 3> kIncidentStates{{
    {IncidentState::kOpen, "open"},
    {IncidentState::kAcknowledged, "acknowledged"},
    {IncidentState::kResolved, "resolved"},
}};

constexpr NameTable<AlertState, 3> kAlertStates{{
    {AlertState::kPending, "pending"},
    {AlertState::kDelivered, "delivered"},
    {AlertState::kDead, "dead"},
}};

}  // namespace

std::string_view AssetKindName(AssetKind v) { return NameOf(kAssetKinds, v); }
std::optional<AssetKind> ParseAssetKind(std::string_view n) { return Lookup(kAssetKinds, n); }
std::string_view AssetStatusName(AssetStatus v) { return NameOf(kAssetStatuses, v); }
std::optional<AssetStatus> ParseAssetStatus(std::string_view n) {
  return Lookup(kAssetStatuses, n);
}
std::string_view OwnerKindName(OwnerKind v) { return NameOf(kOwnerKinds, v); }
std::optional<OwnerKind> ParseOwnerKind(std::string_view n) { return Lookup(kOwnerKinds, n); }
std::string_view RunStateName(RunState v) { return NameOf(kRunStates, v); }
std::optional<RunState> ParseRunState(std::string_view n) { return Lookup(kRunStates, n); }
bool IsTerminal(RunState s) {
  return s == RunState::kComplete || s == RunState::kAbort || s == RunState::kFail;
}
std::string_view SeverityName(Severity v) { return NameOf(kSeverities, v); }
std::optional<Severity> ParseSeverity(std::string_view n) { return Lookup(kSeverities, n); }
std::string_view IncidentStateName(IncidentState v) { return NameOf(kIncidentStates, v); }
std::optional<IncidentState> ParseIncidentState(std::string_view n) {
  return Lookup(kIncidentStates, n);
}
std::string_view AlertStateName(AlertState v) { return NameOf(kAlertStates, v); }
std::optional<AlertState> ParseAlertState(std::string_view n) { return Lookup(kAlertStates, n); }

}  // namespace tidemark::model
