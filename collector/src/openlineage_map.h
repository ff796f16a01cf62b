#pragma once

// Internals of the OpenLineage collector: the rules that need no store (openlineage_naming.cc)
// and the mapping of one parsed event into a pending set of catalog writes
// (openlineage_map.cc), tested on their own.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <string>
#include <string_view>

#include "tidemark/catalog/store.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector::openlineage {

inline constexpr std::string_view kSource = "openlineage";
inline constexpr std::string_view kHistoryPrefix = "history/";
inline constexpr std::string_view kFacetPrefix = "facet/";

// kFile for object stores and file systems, kTopic for streams, kTable otherwise.
model::AssetKind DatasetKind(std::string_view ns);
// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(std::string_view s);

// What a schema facet's fields say to the mapping (names, types, descriptions, nesting), as a
// hash of an unambiguous encoding and the encoding's length: equal digests mean equal columns.
struct SchemaDigest {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  std::uint64_t bytes = 0;

  void Add(std::string_view text) {
    for (unsigned char ch : text) Byte(ch);
    Byte(0xff);  // never in UTF-8: ends the text
  }
  // 0xfc..0xfe, also never in UTF-8: an absent value, the start and the end of nested fields.
  void Mark(unsigned char mark) { Byte(mark); }
  bool operator==(const SchemaDigest&) const = default;

 private:
  void Byte(unsigned char ch) {
    hash = (hash ^ ch) * 1099511628211ULL;
    ++bytes;
  }
};

// What a long-lived caller (OpenLineageWriter) knows of the stored state after its last
// commit, so events about known jobs and datasets need no reads and write only what changed.
// Valid only while nobody else has written: the owner checks Store::WriteGeneration() and
// calls Clear() when it moved (see openlineage_writer.cc). Not thread-safe.
struct MapperCache {
  struct StoredAsset {
    model::Asset asset;        // the record as stored (tags and aliases left out)
    nlohmann::json facets;     // this collector's facets within its properties
    std::vector<model::Column> columns;
    // A schema facet mapped onto `columns` changing nothing, and its snapshot's fingerprint:
    // the same facet again needs no mapping (the usual case: a job reports the same table
    // run after run).
    std::optional<SchemaDigest> schema_fixpoint;
    std::string schema_fingerprint;
  };
  std::map<model::AssetKey, model::AssetKey> resolved;  // dataset key -> key stored under
  std::map<model::AssetKey, StoredAsset> assets;
  std::set<std::string> edges;  // EdgeIdentity() of edges stored exactly so
  // The asset's latest schema snapshot (observed_at, fingerprint), or no later snapshot than
  // it: a snapshot at or after that time with that fingerprint would not be stored.
  std::map<model::AssetKey, std::pair<model::Timestamp, std::string>> latest_snapshot;

  void Clear() {
    resolved.clear();
    assets.clear();
    edges.clear();
    latest_snapshot.clear();
  }
};

// One event's JSON as parsed: by simdjson's DOM when it takes the text (no allocation per
// value), else by nlohmann (what simdjson refuses yet nlohmann takes). Move-only.
class ParsedEvent {
 public:
  ParsedEvent() = default;
  ParsedEvent(ParsedEvent&&) = default;
  ParsedEvent& operator=(ParsedEvent&&) = default;
  // Hands its document's buffers back to this thread's spares (ParseEvent reuses them).
  ~ParsedEvent();
  bool read_by_simdjson() const { return is_fast_; }

 private:
  friend class Mapper;
  friend model::Result<ParsedEvent> ParseEvent(const OpenLineageDocument& doc);
  // Its values point at the document object itself: the root is taken at use, after moves.
  simdjson::dom::document fast_;
  bool is_fast_ = false;  // false: slow_ holds the event
  nlohmann::json slow_;
};

// The event's JSON; InvalidArgument naming the document, line and column when it is not JSON
// (nlohmann's message, whichever parser refused first).
model::Result<ParsedEvent> ParseEvent(const OpenLineageDocument& doc);
// nlohmann alone: what ParseEvent falls back on, and what its tests compare it with.
model::Result<nlohmann::json> ParseEventWithNlohmann(const OpenLineageDocument& doc);

template <class V>
class EventMapper;

// Writes gathered from several events before they go into one WriteBatch, so two events of
// one batch touching the same asset merge instead of the later overwriting the earlier.
// Reads the store (when given) to join existing assets and keep what other sources said.
class Mapper {
 public:
  // `store` may be nullptr (no joins, nothing merged with stored state); borrowed. `cache`
  // (optional, borrowed) answers for the store where it can and leaves out writes that would
  // store what is already stored; Committed() brings it up to date.
  explicit Mapper(catalog::Store* store, MapperCache* cache = nullptr)
      : store_(store), cache_(cache) {}

  // A mapper that only validates: Add finds exactly the errors a mapping mapper would (every
  // check runs), and counts as it would, but builds no records (Flush gives nothing). What
  // the request path runs before logging an event, at a fraction of the cost.
  struct ValidateOnly {};
  explicit Mapper(ValidateOnly) : store_(nullptr), cache_(nullptr), validate_only_(true) {}

  // The run id (lower-cased; "" for a JobEvent or DatasetEvent) and eventTime of the last
  // event Add accepted.
  const std::string& last_run_id() const { return last_run_id_; }
  model::Timestamp last_event_time() const { return last_event_time_; }

  // Validates one event and adds its writes. On error nothing of this event is kept in the
  // mapper (the caller discards the whole mapper anyway, so a batch is all or nothing).
  model::Status Add(const OpenLineageDocument& doc, OpenLineageReport& report);
  // The same for an event already parsed (ParseEvent) from `doc`.
  model::Status Add(const OpenLineageDocument& doc, const ParsedEvent& event,
                    OpenLineageReport& report);
  // The same for an event parsed by nlohmann (the fallback; tests compare the two).
  model::Status Add(const OpenLineageDocument& doc, const nlohmann::json& event,
                    OpenLineageReport& report);

  // Moves everything gathered into `batch`.
  void Flush(catalog::WriteBatch& batch);

  // The batch of the last Flush has committed: the cache learns what is now stored.
  void Committed();

 private:
  template <class V>
  friend class EventMapper;
  struct PendingAsset {
    model::Asset asset;
    nlohmann::json facets;       // this collector's facets, merged into properties on flush
    bool has_columns = false;
    std::vector<model::Column> columns;
    // As in MapperCache::StoredAsset, for `columns` as they are now.
    std::optional<SchemaDigest> schema_fixpoint;
    std::string schema_fingerprint;
    // The stored record this one started from (nullopt: not stored yet), to leave out a
    // write that would change nothing.
    std::optional<MapperCache::StoredAsset> stored;
  };
  // The key a dataset is stored under (joined to an existing asset when one matches).
  model::Result<model::AssetKey> ResolveDataset(const model::AssetKey& key);
  // True when a snapshot of `key` at `at` with `fingerprint` would not be stored: the cache
  // knows the latest stored one, it is no later and has that fingerprint, and this batch has
  // queued no other snapshot of `key` (which Flush would weigh first).
  bool SnapshotWouldBeSkipped(const model::AssetKey& key, model::Timestamp at,
                              const std::string& fingerprint) const;
  // The pending asset for `key`, created from the stored one (or `fresh`) on first use.
  model::Result<PendingAsset*> Pending(const model::AssetKey& key, const model::Asset& fresh);

  catalog::Store* store_;
  MapperCache* cache_;
  const bool validate_only_ = false;
  std::string last_run_id_;
  model::Timestamp last_event_time_{};
  std::vector<std::pair<model::AssetKey, MapperCache::StoredAsset>> flushed_assets_;
  std::vector<std::string> flushed_edges_;
  std::map<model::AssetKey, std::pair<model::Timestamp, std::string>> flushed_snapshots_;
  std::set<model::AssetKey> snapshots_queued_;  // keys with a snapshot in rest_
  std::map<model::AssetKey, model::AssetKey> resolved_;
  std::map<model::AssetKey, PendingAsset> assets_;
  std::vector<std::pair<std::string, model::AssetKey>> aliases_;
  std::map<std::string, model::Owner> owners_;
  std::map<model::AssetKey, std::vector<model::Ownership>> ownerships_;
  catalog::WriteBatch rest_;  // writes that need no merging: runs, edges, points, ...
};

}  // namespace tidemark::collector::openlineage
