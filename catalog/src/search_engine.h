#pragma once

// The search index and the lineage walk, written once for both stores.
//
// INDEX. Each asset has one search document (table search_docs) and a handful of postings
// (table search_postings: term, score, asset_id; primary key (term, score, asset_id)). A
// store keeps both current inside the transaction of every Write that changes what they
// are built from (the asset row, its columns, tags, owners, or its direct downstream edges):
// it loads a SearchDocInput, calls BuildSearchDoc and replaces the asset's old postings.
//
// Terms (all lower case; see Tokenize):
//   word          a token of the name, full name, a column, a tag, an owner or the description
//   "=" + tokens  the whole short name and the whole full name, tokens joined by ' ':
//                 exact-name lookups never depend on how frequent the words are
//   "^" + prefix  each prefix (2..kPrefixChars bytes) of each short-name token: word* and
//                 type-ahead inside a name ("ord" finds fct_orders)
//   "~" + prefix  each prefix (1..kNamePrefixChars bytes) of the short name's tokens joined by
//                 ' ': type-ahead from the start of a name ("stg_or" -> "~stg or")
// A posting's score is the weight of the best field the term occurs in plus the asset's
// boost, so reading a term's postings in score order yields name matches before column
// matches before description matches, best-connected assets first. That is what makes a
// frequent word cheap: the engine reads at most kSearchCandidateCap postings per term from
// an index range, never every document containing it (see the FTS5 numbers in issue 6).
//
// Typo tolerance uses a deletion index (search_typos: variant, term): every indexed term
// of 5+ ASCII letters is stored under itself and each of its one-letter deletions; a query
// word's own deletions looked up there give every term within one edit (Damerau, adjacent
// transposition included), which is then checked exactly.
//
// RANKING (identical on every store; tests/catalog/search_test.cc names the cases).
// For each query word the best field it matches counts once:
//     name word 1000, name prefix (word*) 700, full-name word 700, column 500, tag 300,
//     owner 250, description 150; a typo match (one edit, words of 5+ letters) counts half.
// A quoted phrase (or a word written with separators, "fct_orders", "marts.fct") counts
// the same weights times its number of words, and must occur as consecutive tokens of one
// field. Then:
//   + 100000 when the query's words are exactly the asset's short name, 90000 when they are
//     exactly its full name ("orders" finds the table named orders first, whatever else
//     mentions orders);
//   + 200 * (name tokens matched / name tokens): stg_orders before stg_orders_items;
//   + the boost, at most 99 so it only orders otherwise equal matches: direct downstream
//     assets min(50, 10*log2(1+n)), exposures min(25, 10*n), having owners 14, having a
//     description 10;
//   - 1,000,000 when deprecated, 2,000,000 when removed: they come last.
// Ties: higher score, then shorter name, then key.
//
// READING. `tidemark search` and stores opened without StoreOptions::search_in_memory read
// the tables above through a store's reader (one connection, one transaction per call).
// `serve` opens its store with search_in_memory: searches and suggestions are then answered
// from a copy of the index in memory (memory_search.h), behind the same SearchReader, so the
// ranking is the same by construction; only filter-only browsing, and health the copy has not
// remembered yet, read the store.
// The copy follows the change log (search_changes, below): this process's writes are applied
// before its Write returns, other processes' within the poll (500 ms by default).
//
// Not thread-safe by itself: each call runs on one reader (one connection, one transaction).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tidemark/catalog/search.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/status.h"

namespace tidemark::catalog {

inline constexpr size_t kPrefixChars = 4;
inline constexpr size_t kNamePrefixChars = 10;
// Postings read per term: the best-scored candidates of a frequent word (name matches first).
inline constexpr size_t kSearchCandidateCap = 200;
inline constexpr size_t kSuggestCandidateCap = 100;
// The most postings of one term the engine ever asks for (a filtered search's candidates).
inline constexpr size_t kMaxPostingsRead = kSearchCandidateCap * 5;
// Health (two lookups per asset) is read for the page of hits and, for the health facet, the
// best this many matches; a health= filter reads it for every match.
inline constexpr size_t kHealthFacetCap = 100;

// Lower-case tokens of `text`: split at every byte that is not an ASCII letter or digit and
// is not part of a UTF-8 sequence, and inside words at camelCase boundaries ("fctOrders" ->
// fct, orders; "HTTPServer" -> http, server). Tokens are cut to 64 bytes.
std::vector<std::string> Tokenize(std::string_view text);
// The same into `out`, reusing its strings (no allocation when they are large enough).
void Tokenize(std::string_view text, std::vector<std::string>& out);

// What an asset's document is built from, as loaded by a store inside its transaction.
struct SearchDocInput {
  std::int64_t id = 0;
  model::AssetKey key;
  std::string kind, name, description, source, database, schema, status;
  std::vector<std::string> columns;
  std::vector<std::string> tags;
  std::vector<std::string> owners;  // owner ids
  long long downstream = 0;         // distinct assets with an edge from this one
  long long exposures = 0;          // of which kind = exposure
};

struct Posting {
  std::string term;
  std::int64_t score = 0;
};

// One asset under a term, as the index orders them (best score first).
struct ScoredId {
  std::int64_t id = 0;
  std::int64_t score = 0;
};

// The stored document: what the engine reads back to verify, score, facet and show a hit.
struct SearchDoc {
  std::int64_t id = 0;
  model::AssetKey key;
  std::string kind, name, description, source, database, schema, status;
  // One column name per line, as stored (JoinLines): the engine searches them in place,
  // which saves a string per column of every candidate read.
  std::string columns;
  std::vector<std::string> tags, owners;
  long long downstream = 0, exposures = 0;
  std::int64_t boost = 0;
};

// A stored document as views, which is how the engine reads its candidates: decoding each of
// ~200 candidates into a SearchDoc (a dozen strings and two vectors) was a fifth of a search.
// Lists are their stored text, one item per line (JoinLines); ForEachLine walks them.
struct SearchDocView {
  std::int64_t id = 0;
  std::string_view ns, key_name;  // the asset key
  std::string_view kind, name, description, source, database, schema, status;
  std::string_view columns, tags, owners;
  long long downstream = 0, exposures = 0;
  std::int64_t boost = 0;
};

// What the views of SearchReader::DocViews point into when the reader keeps no documents.
struct SearchDocStorage {
  std::vector<SearchDoc> docs;
  std::vector<std::string> lists;  // each document's tags and owners, joined
};

// Calls fn(line) for each non-empty line of `text`, as SplitLines splits it.
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    if (nl > start) fn(text.substr(start, nl - start));
    start = nl + 1;
  }
}

struct BuiltDoc {
  SearchDoc doc;
  std::vector<Posting> postings;      // unique terms, sorted by term
  std::vector<std::string> typo_terms;  // terms eligible for the deletion index
};

BuiltDoc BuildSearchDoc(const SearchDocInput& in);
std::int64_t SearchBoost(const SearchDocInput& in);
// The postings of a stored document, as BuildSearchDoc made them: a copy of the index held in
// memory (memory_search.h) derives them from the documents it reads back.
std::vector<Posting> SearchPostings(const SearchDoc& doc);
// Whether the deletion index (search_typos) holds `term`: 5+ ASCII letters.
bool TypoEligible(std::string_view term);

// "a\nb\nc" <-> {a, b, c}: how lists are stored in search_docs.
std::string JoinLines(const std::vector<std::string>& items);
std::vector<std::string> SplitLines(std::string_view text);
// "score term\n" lines: a document's postings, kept so the old ones can be deleted.
std::string EncodePostings(const std::vector<Posting>& postings);
std::vector<Posting> DecodePostings(std::string_view text);
// The term and its one-letter deletions (empty when the term is not 5+ ASCII letters).
std::vector<std::string> TypoVariants(std::string_view term);

// Keeps the index current inside a store's write transaction: one implementation per store.
class SearchIndexWriter {
 public:
  virtual ~SearchIndexWriter() = default;
  // Inputs of `ids` (assets that no longer exist are left out), each with the encoded
  // postings of its current document in `old_postings` (empty when it has none).
  virtual model::Status Load(const std::vector<std::int64_t>& ids,
                             std::vector<SearchDocInput>& inputs,
                             std::vector<std::string>& old_postings) = 0;
  struct Change {
    SearchDoc doc;
    std::string encoded;             // EncodePostings of the new postings
    std::vector<Posting> removed;    // old postings not in the new set
    std::vector<Posting> added;      // new postings not in the old set
  };
  virtual model::Status Apply(const std::vector<Change>& changes) = 0;
  // (variant, term) rows for the deletion index; rows already stored are skipped.
  virtual model::Status AddTypos(const std::vector<std::pair<std::string, std::string>>& rows) = 0;
  // Called once after the last Apply/AddTypos of a reindex: a writer that deferred rows
  // (to write them in key order, see sqlite_search.cc) writes them now.
  virtual model::Status Finish() { return model::Status::Ok(); }
};

// Rebuilds the documents of `ids` and writes only the postings that changed. `known_typos`
// are terms already in the deletion index (a cache the store keeps); terms added here are
// appended to `new_typos`, for the store to merge into its cache once the transaction commits.
model::Status ReindexAssets(SearchIndexWriter& writer, const std::vector<std::int64_t>& ids,
                            const std::unordered_set<std::string>& known_typos,
                            std::vector<std::string>& new_typos);

// Reads the index on behalf of the engine: one implementation per store.
class SearchReader {
 public:
  virtual ~SearchReader() = default;
  // The assets posted under `term` with their posting scores, best first, at most `limit`.
  virtual model::Result<std::vector<ScoredId>> Postings(const std::string& term,
                                                        size_t limit) = 0;
  // Indexed terms stored under any of `variants` in the deletion index.
  virtual model::Result<std::vector<std::string>> TypoTerms(
      const std::vector<std::string>& variants) = 0;
  // Documents of `ids` (any order; unknown ids are skipped). REQUIRES: `ids` are distinct.
  virtual model::Result<std::vector<SearchDoc>> Docs(const std::vector<std::int64_t>& ids) = 0;
  // The same as views (any order; unknown ids skipped), valid while both this reader and
  // `storage` live. By default Docs, kept in `storage`; a reader that holds its documents in
  // memory points into them and leaves `storage` alone.
  virtual model::Result<std::vector<SearchDocView>> DocViews(const std::vector<std::int64_t>& ids,
                                                             SearchDocStorage& storage);
  // Health of `ids` (any order; ids without incidents or anomalies may be left out).
  virtual model::Result<std::map<std::int64_t, AssetHealth>> Health(
      const std::vector<std::int64_t>& ids) = 0;
  // The assets passing `query`'s filters on indexed fields (kind, owner, tag, database,
  // schema, source, status; empty ones pass), most boosted first, at most `limit`: the
  // candidates of a search that filters without words.
  virtual model::Result<std::vector<std::int64_t>> Browse(const SearchQuery& query,
                                                          size_t limit) = 0;
};

// InvalidArgument (with "q" as where) for a query that is too long, has too many words, or
// has nothing to search for. A blank query with a filter browses: every asset the filters
// keep, most boosted first (the first kSearchCandidateCap * 5; `exact` says whether that
// was all of them).
model::Result<SearchResults> RunSearch(const SearchQuery& query, SearchReader& reader);

// The change log (search_changes, migration 5): every write appends the ids it reindexed, and
// those whose health (incidents, anomalies) it changed, in its own transaction, with a sequence number that only grows in commit order (SQLite has one
// writer; PostgreSQL appends under an advisory lock held until commit), so a reader that has
// applied everything through seq N finds every later change at seq > N. A rebuild appends
// kSearchChangeAll. Rows older than kSearchChangeRetention are pruned by the writers; the
// checkpoint (kSearchChangesScope, kSearchChangesPrunedKey) says through which seq.
inline constexpr std::int64_t kSearchChangeAll = 0;
inline constexpr std::chrono::minutes kSearchChangeRetention{10};
inline constexpr std::string_view kSearchChangesScope = "search_changes";
inline constexpr std::string_view kSearchChangesPrunedKey = "pruned_through";

struct SearchChange {
  std::int64_t seq = 0;
  std::int64_t asset_id = 0;  // kSearchChangeAll: every document changed
};

// A store's reader with what a copy of the index in memory needs to load and follow it.
class SearchLogReader : public SearchReader {
 public:
  // Documents with asset_id > after_id, ascending, at most `limit`.
  virtual model::Result<std::vector<SearchDoc>> DocsAfter(std::int64_t after_id,
                                                          size_t limit) = 0;
  // Every (variant, term) row of the deletion index.
  virtual model::Result<std::vector<std::pair<std::string, std::string>>> AllTypos() = 0;
  // At most `limit` changes with seq > after, in seq order.
  virtual model::Result<std::vector<SearchChange>> ChangesAfter(std::int64_t after,
                                                                size_t limit) = 0;
  // The highest seq ever appended (0: none) and the seq the log is pruned through.
  virtual model::Result<std::pair<std::int64_t, std::int64_t>> ChangeLogEnds() = 0;
};
model::Result<std::vector<Suggestion>> RunSuggest(const SuggestQuery& query,
                                                  SearchReader& reader);

// Lineage -------------------------------------------------------------------------------------

struct EdgeRow {
  std::int64_t from = 0;  // the id that was asked about
  std::int64_t to = 0;    // its neighbour in the direction asked
  std::string from_column, to_column;
};

struct NodeRow {
  std::int64_t id = 0;
  model::AssetKey key;
  std::string kind, name, status;
  std::vector<std::string> owners;
};

class LineageReader {
 public:
  virtual ~LineageReader() = default;
  // NotFound when no asset has that key.
  virtual model::Result<std::int64_t> IdOf(const model::AssetKey& key) = 0;
  // The ids of `keys` in order, nullopt where no asset has the key. By default one IdOf each;
  // a store with a round trip per statement reads them at once.
  virtual model::Result<std::vector<std::optional<std::int64_t>>> IdsOf(
      const std::vector<model::AssetKey>& keys);
  // Every edge touching `ids`: into them when `upstream`, out of them otherwise.
  virtual model::Result<std::vector<EdgeRow>> Edges(const std::vector<std::int64_t>& ids,
                                                    bool upstream) = 0;
  virtual model::Result<std::vector<NodeRow>> Nodes(const std::vector<std::int64_t>& ids) = 0;
  // What a table-level walk needs of Edges: each (from, to) pair once, without columns.
  virtual model::Result<std::vector<std::pair<std::int64_t, std::int64_t>>> TableEdges(
      const std::vector<std::int64_t>& ids, bool upstream) = 0;
  // What a walk needs of Nodes: id, key, kind and name (status and owners left empty), without
  // reading every node's owners.
  virtual model::Result<std::vector<NodeRow>> NodeNames(const std::vector<std::int64_t>& ids) = 0;
  virtual model::Result<std::map<std::int64_t, AssetHealth>> Health(
      const std::vector<std::int64_t>& ids) = 0;
};

model::Result<LineageGraph> RunLineage(const LineageQuery& query, LineageReader& reader);
// The assets of (id, role) pairs, in the order given, with kind, name, status and health.
model::Result<std::vector<OwnedAsset>> OwnedAssetsOf(
    LineageReader& reader, const std::vector<std::pair<std::int64_t, std::string>>& owned);
model::Result<ImpactReport> RunImpact(const model::AssetKey& key, size_t max_nodes,
                                      LineageReader& reader);

}  // namespace tidemark::catalog
