#pragma once

#include <string>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/time.h"

namespace tidemark::model {

// The columns of an asset as observed at one moment. The store keeps a snapshot only when it
// differs from the asset's latest one, so history reads as a list of changes.
struct SchemaSnapshot {
  AssetKey asset;
  Timestamp observed_at{};
  std::string source;          // who observed it: "dbt-catalog", "openlineage", "postgres"
  std::vector<Column> columns; // name, position, data_type, nullable are compared

  // A stable digest of the compared fields (order-sensitive by position).
  std::string Fingerprint() const;
};

}  // namespace tidemark::model
