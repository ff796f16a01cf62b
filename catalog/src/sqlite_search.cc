// SQLite side of the search index and lineage walk. Sets of ids travel as one JSON array
// parameter read with json_each, so a batch is one statement whatever its size.

#include "sqlite_search.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

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
    " postings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
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
constexpr char kSelectDocs[] =
    "SELECT d.asset_id, a.namespace, a.name, d.kind, d.name, d.description, d.source,"
    " d.database_name, d.schema_name, d.status, d.columns, d.tags, d.owners, d.downstream,"
    " d.exposures, d.boost"
    " FROM search_docs d JOIN assets a USING (asset_id)"
    " WHERE d.asset_id IN (SELECT value FROM json_each(?1))";
constexpr char kSelectHealth[] =
    "SELECT j.value,"
    " (SELECT count(*) FROM incidents i WHERE i.root_id = j.value AND i.state <> 'resolved'),"
    " x.detected_at, x.explanation, x.detector, x.metric"
    " FROM json_each(?1) j LEFT JOIN anomalies x ON x.rowid ="
    "  (SELECT y.rowid FROM anomalies y WHERE y.asset_id = j.value"
    "   ORDER BY y.detected_at DESC, y.id DESC LIMIT 1)";
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

class SqliteIndexWriter final : public SearchIndexWriter {
 public:
  SqliteIndexWriter(SqliteDb& db, bool bulk) : db_(db), bulk_(bulk) {}


  Status Load(const std::vector<std::int64_t>& ids, std::vector<SearchDocInput>& inputs,
              std::vector<std::string>& old_postings) override {
    if (bulk_) {  // the index was emptied: no old postings
      if (!scan_) {
        TM_ASSIGN_OR_RETURN(scan_, InputScan::Open(db_));
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
      s.Bind(1, d.id).Bind(2, d.kind).Bind(3, d.name).Bind(4, d.description).Bind(5, d.source);
      s.Bind(6, d.database).Bind(7, d.schema).Bind(8, d.status).Bind(9, JoinLines(d.columns));
      s.Bind(10, JoinLines(d.tags)).Bind(11, JoinLines(d.owners));
      s.Bind(12, static_cast<std::int64_t>(d.downstream));
      s.Bind(13, static_cast<std::int64_t>(d.exposures)).Bind(14, d.boost).Bind(15, c.encoded);
      TM_RETURN_IF_ERROR(s.Run().WithContext("index asset " + d.key.ToString()));
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
  // kept in runs of fixed size (no reallocation doubling the peak), each sorted on its own
  // and merged while writing.
  class PostingRows {
   public:
    size_t size() const { return size_; }

    void Add(std::string_view term, std::int64_t score, std::int64_t id) {
      auto it = term_ids_.find(term);
      if (it == term_ids_.end()) {  // the key views the stored copy, not the caller's text
        terms_.emplace_back(term);
        it = term_ids_.emplace(terms_.back(), static_cast<std::uint32_t>(terms_.size() - 1)).first;
      }
      if (score < INT32_MIN || score > INT32_MAX || id < 0 || id > UINT32_MAX) overflow_ = true;
      if (runs_.empty() || runs_.back().size() == kRunRows) {
        runs_.emplace_back().reserve(kRunRows);
      }
      runs_.back().push_back({it->second, static_cast<std::int32_t>(score),
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
      // Term ids in order of first use -> their rank in byte order (SQLite's BINARY), so
      // rows sort on integers.
      std::vector<std::uint32_t> by_text(terms_.size());
      for (std::uint32_t i = 0; i < by_text.size(); ++i) by_text[i] = i;
      std::sort(by_text.begin(), by_text.end(),
                [this](std::uint32_t a, std::uint32_t b) { return terms_[a] < terms_[b]; });
      std::vector<std::uint32_t> rank(terms_.size());
      for (std::uint32_t r = 0; r < by_text.size(); ++r) rank[by_text[r]] = r;
      auto key = [](const Row& r) { return std::tuple(r.term, r.score, r.id); };
      for (std::vector<Row>& run : runs_) {
        for (Row& r : run) r.term = rank[r.term];
        std::sort(run.begin(), run.end(), [&](const Row& a, const Row& b) { return key(a) < key(b); });
      }
      // Merge the runs: a heap of (run, position), smallest row on top.
      std::vector<std::pair<size_t, size_t>> heap;
      auto later = [&](const auto& a, const auto& b) {
        return key(runs_[b.first][b.second]) < key(runs_[a.first][a.second]);
      };
      for (size_t i = 0; i < runs_.size(); ++i) heap.emplace_back(i, 0);
      std::make_heap(heap.begin(), heap.end(), later);
      auto next = [&]() -> const Row& {
        std::pop_heap(heap.begin(), heap.end(), later);
        auto& [run, at] = heap.back();
        const Row& r = runs_[run][at];
        if (++at == runs_[run].size()) {
          heap.pop_back();
        } else {
          std::push_heap(heap.begin(), heap.end(), later);
        }
        return r;
      };
      auto bind = [&](SqliteStmt& s, int i, const Row& r) {
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
      std::uint32_t term;  // an index into terms_ (its rank once Write sorts)
      std::int32_t score;
      std::uint32_t id;    // asset ids are rowids, counted from 1
    };
    static constexpr size_t kRunRows = size_t{1} << 16;  // 768 KiB: sorts in cache

   public:
    static constexpr size_t kRowsPerStatement = 64;

   private:
    std::vector<std::vector<Row>> runs_;
    std::deque<std::string> terms_;  // stable: term_ids_ keys view them
    std::unordered_map<std::string_view, std::uint32_t> term_ids_;
    size_t size_ = 0;
    bool overflow_ = false;
  };

  static constexpr size_t kPendingRows = size_t{1} << 20;
  SqliteDb& db_;
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
class SqliteReader final : public SearchReader, public LineageReader {
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
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      SearchDoc d = AssetFields<SearchDoc>(s);
      d.columns = SplitLines(s.TextView(10));
      d.tags = SplitLines(s.TextView(11));
      d.owners = SplitLines(s.TextView(12));
      d.downstream = s.Int(13);
      d.exposures = s.Int(14);
      d.boost = s.Int(15);
      out.push_back(std::move(d));
    }
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
  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<SearchIndexWriter> NewSqliteSearchIndexWriter(SqliteDb& db, bool bulk) {
  return std::make_unique<SqliteIndexWriter>(db, bulk);
}
std::unique_ptr<SearchReader> NewSqliteSearchReader(SqliteDb& db) {
  return std::make_unique<SqliteReader>(db);
}
std::unique_ptr<LineageReader> NewSqliteLineageReader(SqliteDb& db) {
  return std::make_unique<SqliteReader>(db);
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
