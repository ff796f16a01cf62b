#pragma once

// A schema snapshot's columns as both stores keep them (schema_snapshots.columns): a JSON
// array of objects with the members "description" (only when not empty), "name", "nullable"
// (only when known), "position" and "type", in that order: the bytes an nlohmann DOM of the
// same members dumps, so rows written before and after this writer compare equal.

#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/asset.h"

namespace tidemark::catalog {

// Written directly (json_out.h): snapshots are written for every changed schema of every
// ingest. Text that is not valid UTF-8 is stored with U+FFFD in its place.
std::string ColumnsToJson(const std::vector<model::Column>& columns);

// The columns of text ColumnsToJson wrote. A damaged row reads as no columns rather than
// failing the read: text that is not a JSON array gives none, an element that is not an
// object is skipped, a member of another type reads as unset.
std::vector<model::Column> ColumnsFromJson(std::string_view text);

}  // namespace tidemark::catalog
