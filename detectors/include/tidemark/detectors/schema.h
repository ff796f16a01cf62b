#pragma once

// The schema detector: what changed between two observations of an asset's columns, whether
// it breaks readers, and whether a pinned contract still holds.
//
// Columns are matched by name. A removed column and an added one with the same (normalised)
// type at the same position are one rename. Types are compared after normalisation (case,
// spacing, and common aliases: int4 = integer, float8 = double precision, character varying =
// varchar, ...), so two tools spelling one type differently do not look like a change.
//
// Breaking: removed, renamed, a type change that is not a widening (smallint → integer →
// bigint → numeric, real → double, varchar(n) → varchar(m ≥ n) or text, numeric(p,s) →
// numeric(p' ≥ p, s' ≥ s)), and NOT NULL relaxed to nullable (as dbt's contract checks rank
// it). Non-breaking: added, widened, nullable tightened to NOT NULL.
//
// Thread-safety: the functions are pure; concurrent calls are safe.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/schema_snapshot.h"
#include "tidemark/model/status.h"

namespace tidemark::detectors {

enum class SchemaChangeKind { kAdded, kRemoved, kRenamed, kTypeChanged, kNullabilityChanged };
// "added", "removed", "renamed", "type_changed", "nullability_changed".
std::string_view SchemaChangeKindName(SchemaChangeKind kind);

struct SchemaChange {
  SchemaChangeKind kind = SchemaChangeKind::kAdded;
  std::string column;    // the column's name after the change (before it, for kRemoved)
  std::string old_name;  // kRenamed only
  std::string old_type;  // as observed, unnormalised; empty for kAdded
  std::string new_type;  // empty for kRemoved
  std::optional<bool> old_nullable;
  std::optional<bool> new_nullable;
  bool breaking = false;

  // "removed column email (varchar)", "renamed column cust_id to customer_id", ...
  std::string Describe() const;
  friend bool operator==(const SchemaChange&, const SchemaChange&) = default;
};

// The changes that turn `before` into `after`: removals and renames in `before`'s position
// order, then the rest in `after`'s position order. Empty when equivalent. A column whose
// type and nullability both changed yields two changes.
std::vector<SchemaChange> DiffSchemas(std::span<const model::Column> before,
                                      std::span<const model::Column> after);

// Ways `columns` breaks the contract in `settings` ("missing column id", "column amount is
// float, contract says numeric(12,2)", "extra column debug"); empty when it holds or when
// there is no contract.
std::vector<std::string> CheckContract(std::span<const model::Column> columns,
                                       const SchemaSettings& settings);

// Scores an asset's snapshot history (time order, one asset): one anomaly (detector and
// metric "schema", direction "change") per transition that changes the schema, listing the
// changes, error when any is breaking, warn for nullability, info otherwise; value = the number
// of changes. A transition back to the schema an alerted change started from (a revert, or a
// revert of several changes in turn) is not alerted; making the same change again later is. One
// anomaly (metric "contract", error) each time the contract goes from held to violated, including
// at the first snapshot. Snapshots out of time order or of different assets are InvalidArgument.
model::Result<std::vector<model::Anomaly>> DetectSchemaChanges(
    std::span<const model::SchemaSnapshot> history, const SchemaSettings& settings);

}  // namespace tidemark::detectors
