// SQLite side of the search index and lineage walk. Sets of ids travel as one JSON array
// parameter read with json_each, so a batch is one statement whatever its size.

#include "sqlite_search.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "sqlite_schema.h"

namespace tidemark::catalog {
namespace {

using model::Result;
using model::Status;

#define TM_LINES(sql) "coalesce((SELECT group_concat(v, char(10)) FROM (" sql ")), '')"

constexpr char kLoadInputs[] =
    "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name, a.description, a.source,"
    " a.database_name, a.schema_name, a.status,"
    " " TM_LINES("SELECT c.name AS v FROM columns c WHERE c.asset_id = a.asset_id"
                 " ORDER BY c.position, c.name") ","
    " " TM_LINES("SELECT t.tag AS v FROM asset_tags t WHERE t.asset_id = a.asset_id"
                 " ORDER BY t.tag") ","
    " " TM_LINES("SELECT o.owner_id AS v FROM ownerships o WHERE o.asset_id = a.asset_id"
                 " ORDER BY o.owner_id") ","
    " (SELECT count(DISTINCT e.downstream_id) FROM lineage_edges e"
    "   WHERE e.upstream_id = a.asset_id),"
    " (SELECT count(DISTINCT e.downstream_id) FROM lineage_edges e"
    "   JOIN assets d ON d.asset_id = e.downstream_id"
    "   WHERE e.upstream_id = a.asset_id AND d.kind = 'exposure'),"
    " coalesce((SELECT s.postings FROM search_docs s WHERE s.asset_id = a.asset_id), '')"
    " FROM assets a WHERE a.asset_id IN (SELECT value FROM json_each(?1)) ORDER BY a.asset_id";
// A rebuild reads every table once in asset_id order instead (InputScan below).
constexpr char kScanAssets[] =
    "SELECT asset_id, namespace, name, kind, display_name, description, source, database_name,"
    " schema_name, status FROM assets ORDER BY asset_id";
constexpr char kScanColumns[] =
    "SELECT asset_id, name, position FROM columns ORDER BY asset_id, name";
constexpr char kScanTags[] = "SELECT asset_id, tag FROM asset_tags ORDER BY asset_id, tag";
constexpr char kScanOwners[] =
    "SELECT asset_id, owner_id FROM ownerships ORDER BY asset_id, owner_id";
constexpr char kScanEdges[] =
    "SELECT upstream_id, downstream_id FROM lineage_edges ORDER BY upstream_id, downstream_id";
constexpr char kSelectExposures[] = "SELECT asset_id FROM assets WHERE kind = 'exposure'";
constexpr char kDeletePosting[] =
    "DELETE FROM search_postings WHERE term = ?1 AND score = ?2 AND asset_id = ?3";
constexpr char kInsertPosting[] =
    "INSERT OR IGNORE INTO search_postings (term, score, asset_id) VALUES (?1, ?2, ?3)";
constexpr char kUpsertDoc[] =
    "INSERT OR REPLACE INTO search_docs (asset_id, kind, name, description, source,"
    " database_name, schema_name, status, columns, tags, owners, downstream, exposures, boost,"
    " postings, namespace, key_name)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
constexpr char kInsertTypo[] =
    "INSERT OR IGNORE INTO search_typos (variant, term) VALUES (?1, ?2)";
constexpr char kSelectPostings[] =
    "SELECT asset_id, score FROM search_postings WHERE term = ?1"
    " ORDER BY score DESC, asset_id DESC LIMIT ?2";
constexpr char kSelectTypos[] =
    "SELECT DISTINCT term FROM search_typos WHERE variant IN (SELECT value FROM json_each(?1))"
    " ORDER BY term";
// Assets passing the filters (?1 kind, ?2 database, ?3 schema, ?4 source, ?5 status, ?6 an
// owner, ?7 a tag; '' passes anything), most boosted first. Owners and tags are stored one
// per line.
constexpr char kBrowseDocs[] =
    "SELECT asset_id FROM search_docs"
    " WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR database_name = ?2)"
    "   AND (?3 = '' OR schema_name = ?3) AND (?4 = '' OR source = ?4)"
    "   AND (?5 = '' OR status = ?5)"
    "   AND (?6 = '' OR instr(char(10) || owners || char(10), char(10) || ?6 || char(10)) > 0)"
    "   AND (?7 = '' OR instr(char(10) || tags || char(10), char(10) || ?7 || char(10)) > 0)"
    " ORDER BY boost DESC, asset_id LIMIT ?8";
// What the engine reads of a document (SqliteReader::ReadDocs).
#define TM_DOC_COLS                                                                           \
  "d.asset_id, d.namespace, d.key_name, d.kind, d.name, d.description, d.source,"             \
  " d.database_name, d.schema_name, d.status, d.columns, d.tags, d.owners, d.downstream,"    \
  " d.exposures, d.boost"
// Driven by the id list itself: "asset_id IN (SELECT value FROM json_each(?1))" first copies
// the list into a temporary B-tree. The engine never asks for an id twice.
constexpr char kSelectDocs[] =
    "SELECT " TM_DOC_COLS
    " FROM json_each(?1) j JOIN search_docs d ON d.asset_id = j.value";
// The latest anomaly is the one with the latest detected_at, then the greatest id: found as
// two max() lookups on the index rather than with ORDER BY ... LIMIT 1, for which SQLite
// builds and clears a temporary B-tree per asset (a tenth of a search's instructions).
constexpr char kSelectHealth[] =
    "SELECT j.value,"
    " (SELECT count(*) FROM incidents i WHERE i.root_id = j.value AND i.state <> 'resolved'),"
    " x.detected_at, x.explanation, x.detector, x.metric"
    " FROM json_each(?1) j LEFT JOIN anomalies x ON x.asset_id = j.value AND x.id ="
    "  (SELECT max(y.id) FROM anomalies y INDEXED BY anomalies_by_asset_detected"
    "   WHERE y.asset_id = j.value AND y.detected_at ="
    "    (SELECT max(z.detected_at) FROM anomalies z WHERE z.asset_id = j.value))";
// Documents in asset_id order, for loading a copy of the index (kSelectDocs' columns).
constexpr char kSelectDocsAfter[] =
    "SELECT " TM_DOC_COLS
    " FROM search_docs d WHERE d.asset_id > ?1 ORDER BY d.asset_id LIMIT ?2";
constexpr char kSelectAllTypos[] = "SELECT variant, term FROM search_typos";
// The change log (migration 5); its pruning checkpoint's value is the last pruned seq.
constexpr char kSelectChanges[] =
    "SELECT seq, asset_id FROM search_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2";
constexpr char kSelectChangeLogEnds[] =
    "SELECT coalesce((SELECT max(seq) FROM search_changes), 0),"
    " coalesce((SELECT CAST(value AS INTEGER) FROM checkpoints WHERE scope = ?1 AND key = ?2), 0)";
constexpr char kAppendChanges[] =
    "INSERT INTO search_changes (asset_id, changed_at) SELECT value, ?2 FROM json_each(?1)";
constexpr char kOldestChange[] = "SELECT changed_at FROM search_changes ORDER BY seq LIMIT 1";
constexpr char kLastChangeBefore[] =
    "SELECT max(seq) FROM search_changes WHERE changed_at < ?1";
constexpr char kPruneChanges[] = "DELETE FROM search_changes WHERE seq <= ?1";
constexpr char kSelectId[] = "SELECT asset_id FROM assets WHERE key = ?1";
constexpr char kSelectEdgesDown[] =
    "SELECT upstream_id, downstream_id, upstream_column, downstream_column FROM lineage_edges"
    " WHERE upstream_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectEdgesUp[] =
    "SELECT downstream_id, upstream_id, downstream_column, upstream_column FROM lineage_edges"
    " WHERE downstream_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectNodes[] =
    "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name, a.status,"
    " " TM_LINES("SELECT o.owner_id AS v FROM ownerships o WHERE o.asset_id = a.asset_id"
                 " ORDER BY o.owner_id")
    " FROM assets a WHERE a.asset_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectTableEdgesDown[] =
    "SELECT DISTINCT upstream_id, downstream_id FROM lineage_edges"
    " WHERE upstream_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectTableEdgesUp[] =
    "SELECT DISTINCT downstream_id, upstream_id FROM lineage_edges"
    " WHERE downstream_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectNodeNames[] =
    "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name FROM assets a"
    " WHERE a.asset_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectAllIds[] = "SELECT asset_id FROM assets ORDER BY asset_id";
constexpr char kSelectOwned[] =
    "SELECT w.asset_id, w.role FROM ownerships w JOIN assets a USING (asset_id)"
    " WHERE w.owner_id = ?1 ORDER BY a.key";

std::string IdsJson(const std::vector<std::int64_t>& ids) {
  std::string out = "[";
  for (std::int64_t id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  out += ']';
  return out;
}

std::string StringsJson(const std::vector<std::string>& items) {
  // Terms are tokens: letters, digits and UTF-8 bytes; escape what JSON needs anyway.
  std::string out = "[";
  for (const std::string& s : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      out += c;
    }
    out += '"';
  }
  out += ']';
  return out;
}

// Columns 0-9 of kLoadInputs, kScanAssets and kSelectDocs: the asset's own fields, into a
// SearchDocInput or a SearchDoc.
template <typename Doc>
Doc AssetFields(const SqliteStmt& s) {
  Doc d;
  d.id = s.Int(0);
  d.key = {s.Text(1), s.Text(2)};
  d.kind = s.Text(3);
  d.name = s.Text(4);
  d.description = s.Text(5);
  d.source = s.Text(6);
  d.database = s.Text(7);
  d.schema = s.Text(8);
  d.status = s.Text(9);
  return d;
}

// The search inputs of every asset, read by scanning each table once in asset_id order and
// joining in C++: a rebuild's alternative to kLoadInputs, whose correlated subqueries per asset
// cost a third of a rebuild. Chunks of ids must come in ascending order.
class InputScan {
 public:
  static Result<std::unique_ptr<InputScan>> Open(SqliteDb& db) {
    std::unordered_set<std::int64_t> exposures;
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectExposures));
      while (true) {
        TM_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        exposures.insert(s.Int(0));
      }
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt assets, db.Prepare(kScanAssets));
    TM_ASSIGN_OR_RETURN(SqliteStmt columns, db.Prepare(kScanColumns));
    TM_ASSIGN_OR_RETURN(SqliteStmt tags, db.Prepare(kScanTags));
    TM_ASSIGN_OR_RETURN(SqliteStmt owners, db.Prepare(kScanOwners));
    TM_ASSIGN_OR_RETURN(SqliteStmt edges, db.Prepare(kScanEdges));
    auto scan = std::unique_ptr<InputScan>(
        new InputScan(std::move(assets), std::move(columns), std::move(tags), std::move(owners),
                      std::move(edges), std::move(exposures)));
    for (Cursor* c : {&scan->assets_, &scan->columns_, &scan->tags_, &scan->owners_, &scan->edges_}) {
      TM_RETURN_IF_ERROR(c->Next());
    }
    return scan;
  }

  Status Read(const std::vector<std::int64_t>& ids, std::vector<SearchDocInput>& out) {
    std::vector<std::pair<std::int64_t, std::string>> columns;  // (position, name)
    for (std::int64_t id : ids) {
      if (id <= last_) return Status::Internal("asset ids of a rebuild must ascend");
      last_ = id;
      TM_RETURN_IF_ERROR(assets_.SkipTo(id));
      if (!assets_.At(id)) continue;  // no such asset
      SearchDocInput in = AssetFields<SearchDocInput>(assets_.stmt);
      columns.clear();
      TM_RETURN_IF_ERROR(columns_.SkipTo(id));
      while (columns_.At(id)) {
        columns.emplace_back(columns_.stmt.Int(2), columns_.stmt.Text(1));
        TM_RETURN_IF_ERROR(columns_.Next());
      }
      std::sort(columns.begin(), columns.end());  // as kLoadInputs: by position, then name
      for (auto& [position, name] : columns) in.columns.push_back(std::move(name));
      TM_RETURN_IF_ERROR(tags_.SkipTo(id));
      while (tags_.At(id)) {
        in.tags.push_back(tags_.stmt.Text(1));
        TM_RETURN_IF_ERROR(tags_.Next());
      }
      TM_RETURN_IF_ERROR(owners_.SkipTo(id));
      while (owners_.At(id)) {
        in.owners.push_back(owners_.stmt.Text(1));
        TM_RETURN_IF_ERROR(owners_.Next());
      }
      // Distinct downstream assets (edges differ by column and origin too), and exposures.
      TM_RETURN_IF_ERROR(edges_.SkipTo(id));
      for (std::int64_t previous = INT64_MIN; edges_.At(id);) {
        const std::int64_t down = edges_.stmt.Int(1);
        if (down != previous) {
          previous = down;
          ++in.downstream;
          if (exposures_.count(down)) ++in.exposures;
        }
        TM_RETURN_IF_ERROR(edges_.Next());
      }
      out.push_back(std::move(in));
    }
    return Status::Ok();
  }

 private:
  // A statement whose rows start with an asset id, in ascending order.
  struct Cursor {
    SqliteStmt stmt;
    bool row = false;
    Status Next() {
      TM_ASSIGN_OR_RETURN(row, stmt.Step());
      return Status::Ok();
    }
    bool At(std::int64_t id) const { return row && stmt.Int(0) == id; }
    Status SkipTo(std::int64_t id) {
      while (row && stmt.Int(0) < id) TM_RETURN_IF_ERROR(Next());
      return Status::Ok();
    }
  };

  InputScan(SqliteStmt assets, SqliteStmt columns, SqliteStmt tags, SqliteStmt owners,
            SqliteStmt edges, std::unordered_set<std::int64_t> exposures)
      : assets_{std::move(assets)},
        columns_{std::move(columns)},
        tags_{std::move(tags)},
        owners_{std::move(owners)},
        edges_{std::move(edges)},
        exposures_(std::move(exposures)) {}

  Cursor assets_, columns_, tags_, owners_, edges_;
  std::unordered_set<std::int64_t> exposures_;
  std::int64_t last_ = INT64_MIN;
};

// Distinct terms, each numbered in order of first use: open addressing on the numbers, with
// each term's hash kept. A node-based map spent as long finding a rebuild's terms as SQLite
// spent writing them.
class TermTable {
 public:
  size_t size() const { return terms_.size(); }
  const std::string& operator[](std::uint32_t id) const { return terms_[id]; }

  std::uint32_t Intern(std::string_view term) {
    if ((terms_.size() + 1) * 2 > slots_.size()) Grow();
    const std::uint64_t hash = std::hash<std::string_view>{}(term);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t slot = slots_[i];
      if (slot == 0) {  // a new term
        terms_.emplace_back(term);
        hashes_.push_back(hash);
        slots_[i] = static_cast<std::uint32_t>(terms_.size());
        return slot_to_id(slots_[i]);
      }
      if (hashes_[slot_to_id(slot)] == hash && terms_[slot_to_id(slot)] == term) {
        return slot_to_id(slot);
      }
    }
  }

 private:
  static std::uint32_t slot_to_id(std::uint32_t slot) { return slot - 1; }  // 0: empty

  void Grow() {
    std::vector<std::uint32_t> slots(std::max<size_t>(1024, slots_.size() * 2), 0);
    const size_t mask = slots.size() - 1;
    for (std::uint32_t id = 0; id < terms_.size(); ++id) {
      size_t i = hashes_[id] & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    slots_ = std::move(slots);
  }

  std::vector<std::string> terms_;
  std::vector<std::uint64_t> hashes_;  // of terms_, by id
  std::vector<std::uint32_t> slots_;   // id + 1, or 0; a power of two, at most half full
};

class SqliteIndexWriter final : public SearchIndexWriter {
 public:
  SqliteIndexWriter(SqliteDb& db, bool bulk, SqliteDb& source)
      : db_(db), source_(source), bulk_(bulk) {}

  Status Load(const std::vector<std::int64_t>& ids, std::vector<SearchDocInput>& inputs,
              std::vector<std::string>& old_postings) override {
    if (bulk_) {  // the index was emptied: no old postings
      if (!scan_) {
        TM_ASSIGN_OR_RETURN(scan_, InputScan::Open(source_));
      }
      TM_RETURN_IF_ERROR(scan_->Read(ids, inputs));
      old_postings.resize(inputs.size());
      return Status::Ok();
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kLoadInputs));
    s.Bind(1, IdsJson(ids));
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Status::Ok();
      SearchDocInput in = AssetFields<SearchDocInput>(s);
      in.columns = SplitLines(s.TextView(10));
      in.tags = SplitLines(s.TextView(11));
      in.owners = SplitLines(s.TextView(12));
      in.downstream = s.Int(13);
      in.exposures = s.Int(14);
      inputs.push_back(std::move(in));
      old_postings.push_back(s.Text(15));
    }
  }

  // Documents are written at once; postings and typo rows are kept and written sorted by
  // key, so the index B-trees fill in order instead of at random pages. An update flushes
  // them every kPendingRows (bounded memory keeps most of the gain); a rebuild (`bulk`, the
  // index emptied first) keeps them all and writes one sorted run into empty tables, which
  // is what makes building a million assets' index a matter of seconds, not of the hour
  // that flushing a million rows at a time into an ever larger B-tree took.
  // Deferring is safe: a change's removed and added postings are disjoint, and different
  // assets' postings never share a key.
  Status Apply(const std::vector<Change>& changes) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertDoc));
    for (const Change& c : changes) {
      for (const Posting& p : c.removed) removed_.Add(p.term, p.score, c.doc.id);
      for (const Posting& p : c.added) added_.Add(p.term, p.score, c.doc.id);
      const SearchDoc& d = c.doc;
      // Every text outlives Run: bound without copies.
      const std::string tags = JoinLines(d.tags), owners = JoinLines(d.owners);
      s.Bind(1, d.id).BindStatic(2, d.kind).BindStatic(3, d.name).BindStatic(4, d.description);
      s.BindStatic(5, d.source).BindStatic(6, d.database).BindStatic(7, d.schema);
      s.BindStatic(8, d.status).BindStatic(9, d.columns).BindStatic(10, tags);
      s.BindStatic(11, owners).Bind(12, static_cast<std::int64_t>(d.downstream));
      s.Bind(13, static_cast<std::int64_t>(d.exposures)).Bind(14, d.boost);
      s.BindStatic(15, c.encoded).BindStatic(16, d.key.ns).BindStatic(17, d.key.name);
      if (Status st = s.Run(); !st.ok()) return st.WithContext("index asset " + d.key.ToString());
    }
    if (!bulk_ && removed_.size() + added_.size() + typos_.size() > kPendingRows) {
      return Finish();
    }
    return Status::Ok();
  }

  Status AddTypos(const std::vector<std::pair<std::string, std::string>>& rows) override {
    typos_.insert(typos_.end(), rows.begin(), rows.end());
    return Status::Ok();
  }

  Status Finish() override {
    TM_RETURN_IF_ERROR(removed_.Write(db_, kDeletePosting));
    static const std::string insert_many = [] {
      std::string sql = "INSERT OR IGNORE INTO search_postings (term, score, asset_id) VALUES ";
      for (size_t i = 0; i < PostingRows::kRowsPerStatement; ++i) sql += i ? ",(?,?,?)" : "(?,?,?)";
      return sql;
    }();
    TM_RETURN_IF_ERROR(added_.Write(db_, kInsertPosting, insert_many.c_str()));
    std::sort(typos_.begin(), typos_.end());
    typos_.erase(std::unique(typos_.begin(), typos_.end()), typos_.end());
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertTypo));
    for (const auto& [variant, term] : typos_) {
      s.BindStatic(1, variant).BindStatic(2, term);
      TM_RETURN_IF_ERROR(s.Run());
    }
    typos_.clear();
    return Status::Ok();
  }

 private:
  // (term, score, asset_id) rows, 12 bytes each with the terms interned: a rebuild of a
  // million assets holds fifty million rows but only a few million distinct terms. Rows are
  // kept in runs of fixed size (no reallocation doubling the peak) until Write sorts them.
  class PostingRows {
   public:
    static constexpr size_t kRowsPerStatement = 64;  // of Write's `sql_many`

    size_t size() const { return size_; }

    void Add(std::string_view term, std::int64_t score, std::int64_t id) {
      const std::uint32_t term_id = terms_.Intern(term);
      if (score < INT32_MIN || score > INT32_MAX || id < 0 || id > UINT32_MAX) overflow_ = true;
      if (runs_.empty() || runs_.back().size() == kRunRows) {
        runs_.emplace_back().reserve(kRunRows);
      }
      runs_.back().push_back({term_id, static_cast<std::int32_t>(score),
                              static_cast<std::uint32_t>(id)});
      ++size_;
    }

    // Runs `sql` (?1 term, ?2 score, ?3 asset_id) for every row, in key order; or, given
    // `sql_many` (the same for kRowsPerStatement rows, parameters 3i+1..3i+3), that for each
    // full group of rows: one statement per row costs as much as the B-tree insert itself.
    Status Write(SqliteDb& db, const char* sql, const char* sql_many = nullptr) {
      if (size_ == 0) return Status::Ok();
      if (overflow_ || terms_.size() > UINT32_MAX) {
        return Status::Internal("search index rows out of range");
      }
      // Term ids in order of first use -> their rank in byte order (SQLite's BINARY).
      std::vector<std::uint32_t> by_text(terms_.size());
      for (std::uint32_t i = 0; i < by_text.size(); ++i) by_text[i] = i;
      std::sort(by_text.begin(), by_text.end(),
                [this](std::uint32_t a, std::uint32_t b) { return terms_[a] < terms_[b]; });
      std::vector<std::uint32_t> rank(terms_.size());
      for (std::uint32_t r = 0; r < by_text.size(); ++r) rank[by_text[r]] = r;
      // A counting sort on the rank: (score, id) pairs land in their term's slice, each run
      // freed once scattered; then each slice is sorted (most are a handful of rows).
      std::vector<size_t> start(terms_.size() + 1, 0);
      for (const std::vector<Row>& run : runs_) {
        for (const Row& r : run) ++start[rank[r.term] + 1];
      }
      for (size_t t = 1; t < start.size(); ++t) start[t] += start[t - 1];
      std::vector<Entry> sorted(size_);
      {
        std::vector<size_t> fill(start.begin(), start.end() - 1);
        for (std::vector<Row>& run : runs_) {
          for (const Row& r : run) sorted[fill[rank[r.term]]++] = {r.score, r.id};
          std::vector<Row>().swap(run);
        }
      }
      // Slices are sorted in term order; a large write sorts them on a second thread while
      // this one inserts the slices already sorted (`ready` counts them).
      std::atomic<size_t> ready{0};
      auto sort_slices = [&] {
        for (size_t t = 0; t + 1 < start.size(); ++t) {
          if (start[t + 1] - start[t] > 1) {
            std::sort(sorted.begin() + static_cast<std::ptrdiff_t>(start[t]),
                      sorted.begin() + static_cast<std::ptrdiff_t>(start[t + 1]));
          }
          ready.store(t + 1, std::memory_order_release);
        }
      };
      std::jthread sorter;  // joined on every return, before what it sorts goes away
      if (size_ >= kSortAsideRows) {
        sorter = std::jthread(sort_slices);
      } else {
        sort_slices();
      }
      // Rows in key order: the term whose slice holds position `at`, then the entry.
      size_t term = 0, at = 0;
      auto next = [&]() -> Row {
        while (start[term + 1] <= at) ++term;
        while (ready.load(std::memory_order_acquire) <= term) std::this_thread::yield();
        const Entry& e = sorted[at++];
        return {static_cast<std::uint32_t>(term), e.score, e.id};
      };
      auto bind = [&](SqliteStmt& s, int i, Row r) {
        s.BindStatic(3 * i + 1, terms_[by_text[r.term]]).Bind(3 * i + 2, std::int64_t{r.score});
        s.Bind(3 * i + 3, std::int64_t{r.id});
      };
      size_t left = size_;
      if (sql_many) {
        TM_ASSIGN_OR_RETURN(SqliteStmt many, db.Prepare(sql_many));
        for (; left >= kRowsPerStatement; left -= kRowsPerStatement) {
          for (int i = 0; i < static_cast<int>(kRowsPerStatement); ++i) bind(many, i, next());
          TM_RETURN_IF_ERROR(many.Run());
        }
      }
      TM_ASSIGN_OR_RETURN(SqliteStmt one, db.Prepare(sql));
      for (; left > 0; --left) {
        bind(one, 0, next());
        TM_RETURN_IF_ERROR(one.Run());
      }
      *this = PostingRows();
      return Status::Ok();
    }

   private:
    struct Row {
      std::uint32_t term;  // an index into terms_ (a rank, in Write)
      std::int32_t score;
      std::uint32_t id;    // asset ids are rowids, counted from 1
    };
    struct Entry {  // a row within its term's slice, in Write
      std::int32_t score;
      std::uint32_t id;
      bool operator<(const Entry& o) const { return score != o.score ? score < o.score : id < o.id; }
    };
    static constexpr size_t kRunRows = size_t{1} << 16;
    // A write of this many rows sorts its terms' slices on a second thread.
    static constexpr size_t kSortAsideRows = size_t{1} << 16;

    std::vector<std::vector<Row>> runs_;
    TermTable terms_;
    size_t size_ = 0;
    bool overflow_ = false;
  };

  static constexpr size_t kPendingRows = size_t{1} << 20;
  SqliteDb& db_;
  SqliteDb& source_;  // where a bulk_ writer reads the inputs
  const bool bulk_;
  std::unique_ptr<InputScan> scan_;  // bulk_: reads the inputs
  PostingRows removed_, added_;
  std::vector<std::pair<std::string, std::string>> typos_;
};

Result<std::map<std::int64_t, AssetHealth>> ReadHealth(SqliteDb& db,
                                                       const std::vector<std::int64_t>& ids) {
  std::map<std::int64_t, AssetHealth> out;
  if (ids.empty()) return out;
  TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectHealth));
  s.Bind(1, IdsJson(ids));
  while (true) {
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    AssetHealth h;
    h.open_incidents = static_cast<int>(s.Int(1));
    if (!s.IsNull(2)) {
      h.last_anomaly_at = s.Time(2);
      h.last_anomaly = s.Text(3);
      if (h.last_anomaly.empty()) h.last_anomaly = s.Text(4) + " " + s.Text(5);
    }
    out[s.Int(0)] = std::move(h);
  }
}

// Serves both the search engine and the lineage walk; Health overrides both bases' method.
class SqliteReader final : public SearchLogReader, public LineageReader {
 public:
  explicit SqliteReader(SqliteDb& db) : db_(db) {}

  Result<std::vector<ScoredId>> Postings(const std::string& term, size_t limit) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectPostings));
    s.Bind(1, term).Bind(2, static_cast<std::int64_t>(limit));
    std::vector<ScoredId> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back({s.Int(0), s.Int(1)});
    }
  }

  Result<std::vector<std::string>> TypoTerms(const std::vector<std::string>& variants) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectTypos));
    s.Bind(1, StringsJson(variants));
    std::vector<std::string> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back(s.Text(0));
    }
  }

  Result<std::vector<SearchDoc>> Docs(const std::vector<std::int64_t>& ids) override {
    std::vector<SearchDoc> out;
    if (ids.empty()) return out;
    out.reserve(ids.size());
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectDocs));
    s.Bind(1, IdsJson(ids));
    return ReadDocs(s, out);
  }

  // Without the connection's memory map: scanning every document through it would leave
  // the whole table in the process's resident set (gigabytes at a million assets).
  Result<std::vector<SearchDoc>> DocsAfter(std::int64_t after_id, size_t limit) override {
    std::vector<SearchDoc> out;
    TM_RETURN_IF_ERROR(db_.Exec("PRAGMA mmap_size=0"));
    Result<std::vector<SearchDoc>> got = [&]() -> Result<std::vector<SearchDoc>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectDocsAfter));
      s.Bind(1, after_id).Bind(2, static_cast<std::int64_t>(limit));
      return ReadDocs(s, out);
    }();
    TM_RETURN_IF_ERROR(db_.Exec("PRAGMA mmap_size=" + std::to_string(kReaderMmapBytes)));
    return got;
  }

  Result<std::vector<std::pair<std::string, std::string>>> AllTypos() override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectAllTypos));
    std::vector<std::pair<std::string, std::string>> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.emplace_back(s.Text(0), s.Text(1));
    }
  }

  Result<std::vector<SearchChange>> ChangesAfter(std::int64_t after, size_t limit) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectChanges));
    s.Bind(1, after).Bind(2, static_cast<std::int64_t>(limit));
    std::vector<SearchChange> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back({s.Int(0), s.Int(1)});
    }
  }

  Result<std::pair<std::int64_t, std::int64_t>> ChangeLogEnds() override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectChangeLogEnds));
    s.Bind(1, kSearchChangesScope).Bind(2, kSearchChangesPrunedKey);
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::Internal("search change log ends returned no row");
    return std::make_pair(s.Int(0), s.Int(1));
  }

  Result<std::map<std::int64_t, AssetHealth>> Health(
      const std::vector<std::int64_t>& ids) override {
    return ReadHealth(db_, ids);
  }

  Result<std::vector<std::int64_t>> Browse(const SearchQuery& q, size_t limit) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kBrowseDocs));
    s.BindStatic(1, q.kind).BindStatic(2, q.database).BindStatic(3, q.schema);
    s.BindStatic(4, q.source).BindStatic(5, q.status).BindStatic(6, q.owner);
    s.BindStatic(7, q.tag).Bind(8, static_cast<std::int64_t>(limit));
    std::vector<std::int64_t> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back(s.Int(0));
    }
  }

  Result<std::int64_t> IdOf(const model::AssetKey& key) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectId));
    s.Bind(1, key.ToString());
    TM_ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) return Status::NotFound("no asset '" + key.ToString() + "'");
    return s.Int(0);
  }

  Result<std::vector<EdgeRow>> Edges(const std::vector<std::int64_t>& ids,
                                     bool upstream) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(upstream ? kSelectEdgesUp : kSelectEdgesDown));
    s.Bind(1, IdsJson(ids));
    std::vector<EdgeRow> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back({s.Int(0), s.Int(1), s.Text(2), s.Text(3)});
    }
  }

  Result<std::vector<std::pair<std::int64_t, std::int64_t>>> TableEdges(
      const std::vector<std::int64_t>& ids, bool upstream) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s,
                        db_.Prepare(upstream ? kSelectTableEdgesUp : kSelectTableEdgesDown));
    s.Bind(1, IdsJson(ids));
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.emplace_back(s.Int(0), s.Int(1));
    }
  }

  Result<std::vector<NodeRow>> NodeNames(const std::vector<std::int64_t>& ids) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectNodeNames));
    s.Bind(1, IdsJson(ids));
    std::vector<NodeRow> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back({s.Int(0), {s.Text(1), s.Text(2)}, s.Text(3), s.Text(4), {}, {}});
    }
  }

  Result<std::vector<NodeRow>> Nodes(const std::vector<std::int64_t>& ids) override {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectNodes));
    s.Bind(1, IdsJson(ids));
    std::vector<NodeRow> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back({s.Int(0), {s.Text(1), s.Text(2)}, s.Text(3), s.Text(4), s.Text(5),
                     SplitLines(s.TextView(6))});
    }
  }

 private:
  // The rows of kSelectDocs or kSelectDocsAfter, appended to `out`.
  static Result<std::vector<SearchDoc>> ReadDocs(SqliteStmt& s, std::vector<SearchDoc>& out) {
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return std::move(out);
      SearchDoc d = AssetFields<SearchDoc>(s);
      d.columns = s.Text(10);
      d.tags = SplitLines(s.TextView(11));
      d.owners = SplitLines(s.TextView(12));
      d.downstream = s.Int(13);
      d.exposures = s.Int(14);
      d.boost = s.Int(15);
      out.push_back(std::move(d));
    }
  }

  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<SearchIndexWriter> NewSqliteSearchIndexWriter(SqliteDb& db, bool bulk,
                                                              SqliteDb* source) {
  return std::make_unique<SqliteIndexWriter>(db, bulk, source ? *source : db);
}
std::unique_ptr<SearchLogReader> NewSqliteSearchReader(SqliteDb& db) {
  return std::make_unique<SqliteReader>(db);
}
std::unique_ptr<LineageReader> NewSqliteLineageReader(SqliteDb& db) {
  return std::make_unique<SqliteReader>(db);
}

Status SqliteLogSearchChanges(SqliteDb& db, const std::vector<std::int64_t>& ids,
                              model::Timestamp now) {
  if (ids.empty()) return Status::Ok();
  // Pruning costs one lookup of the oldest row unless there is something to prune.
  const model::Timestamp cutoff = now - kSearchChangeRetention;
  std::optional<std::int64_t> prune_through;
  {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kOldestChange));
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && s.Time(0) < cutoff) {
      TM_ASSIGN_OR_RETURN(SqliteStmt last, db.Prepare(kLastChangeBefore));
      last.Bind(1, cutoff);
      TM_ASSIGN_OR_RETURN(bool found, last.Step());
      if (found && !last.IsNull(0)) prune_through = last.Int(0);
    }
  }
  if (prune_through) {
    TM_ASSIGN_OR_RETURN(SqliteStmt del, db.Prepare(kPruneChanges));
    del.Bind(1, *prune_through);
    TM_RETURN_IF_ERROR(del.Run());
    TM_ASSIGN_OR_RETURN(SqliteStmt put, db.Prepare(kSqliteUpsertCheckpoint));
    put.Bind(1, kSearchChangesScope).Bind(2, kSearchChangesPrunedKey);
    put.Bind(3, std::to_string(*prune_through)).Bind(4, now);
    TM_RETURN_IF_ERROR(put.Run());
  }
  TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kAppendChanges));
  s.Bind(1, IdsJson(ids)).Bind(2, now);
  return s.Run().WithContext("append to the search change log");
}

Result<std::vector<std::int64_t>> SqliteAllAssetIds(SqliteDb& db) {
  TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectAllIds));
  std::vector<std::int64_t> out;
  while (true) {
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.Int(0));
  }
}

Result<std::vector<std::pair<std::int64_t, std::string>>> SqliteOwnedIds(
    SqliteDb& db, std::string_view owner_id) {
  TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectOwned));
  s.Bind(1, owner_id);
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (true) {
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.emplace_back(s.Int(0), s.Text(1));
  }
}

}  // namespace tidemark::catalog
