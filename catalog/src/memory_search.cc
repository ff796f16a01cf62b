// The in-memory copy of the search index (memory_search.h has the design).

#include "memory_search.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace tidemark::catalog {

using model::Result;
using model::Status;

namespace {

// Documents read per statement while loading, and per Docs call while catching up.
constexpr size_t kLoadPage = 2000;
constexpr size_t kDocsChunk = 1000;
// Change log rows read per round of a catch-up; documents applied per hold of the lock.
constexpr size_t kChangesPage = 20000;
constexpr size_t kApplyChunk = 1000;
// Cut lists read again per round.
constexpr size_t kRefillsPerRound = 500;
// Assets whose health the copy remembers (all of them are forgotten when it would hold more).
constexpr size_t kHealthCacheEntries = 200000;

// A posting: the index orders them by score, then id, both descending.
struct Entry {
  std::int32_t score;
  std::uint32_t id;
};
bool Before(const Entry& a, const Entry& b) {
  return a.score != b.score ? a.score > b.score : a.id > b.id;
}

// A document as one string: three numbers, then twelve length-prefixed texts.
enum Field : int {
  kNamespace, kKeyName, kKind, kName, kDescription, kSource, kDatabase, kSchema, kStatus,
  kColumns, kTags, kOwners, kFieldCount
};

void PutNumber(std::string& out, std::int64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void PutText(std::string& out, std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(text);
}

std::string EncodeDoc(const SearchDoc& d) {
  std::string out;
  out.reserve(3 * 8 + kFieldCount * 4 + d.key.ns.size() + d.key.name.size() + d.name.size() +
              d.description.size() + d.columns.size() + 64);
  PutNumber(out, d.downstream);
  PutNumber(out, d.exposures);
  PutNumber(out, d.boost);
  for (std::string_view text :
       {std::string_view(d.key.ns), std::string_view(d.key.name), std::string_view(d.kind),
        std::string_view(d.name), std::string_view(d.description), std::string_view(d.source),
        std::string_view(d.database), std::string_view(d.schema), std::string_view(d.status),
        std::string_view(d.columns)}) {
    PutText(out, text);
  }
  PutText(out, JoinLines(d.tags));
  PutText(out, JoinLines(d.owners));
  return out;
}

// A view of the document `blob` encodes (EncodeDoc): no copy of its bytes.
SearchDocView ViewDoc(std::uint32_t id, std::string_view blob) {
  SearchDocView d;
  d.id = id;
  const char* p = blob.data();
  auto number = [&p] {
    std::int64_t v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  };
  auto text = [&p]() -> std::string_view {
    std::uint32_t n;
    std::memcpy(&n, p, sizeof n);
    p += sizeof n;
    std::string_view out(p, n);
    p += n;
    return out;
  };
  d.downstream = number();
  d.exposures = number();
  d.boost = number();
  d.ns = text();
  d.key_name = text();
  d.kind = text();
  d.name = text();
  d.description = text();
  d.source = text();
  d.database = text();
  d.schema = text();
  d.status = text();
  d.columns = text();
  d.tags = text();
  d.owners = text();
  return d;
}

// A copy of the document `v` views.
SearchDoc OwnedDoc(const SearchDocView& v) {
  SearchDoc d;
  d.id = v.id;
  d.key = {std::string(v.ns), std::string(v.key_name)};
  d.kind = v.kind;
  d.name = v.name;
  d.description = v.description;
  d.source = v.source;
  d.database = v.database;
  d.schema = v.schema;
  d.status = v.status;
  d.columns = v.columns;
  d.tags = SplitLines(v.tags);
  d.owners = SplitLines(v.owners);
  d.downstream = v.downstream;
  d.exposures = v.exposures;
  d.boost = v.boost;
  return d;
}

// Terms numbered in order of first use, their bytes in one arena; open addressing on the
// numbers (0: empty slot, else number + 1), hashes recomputed when the table grows.
class TermDict {
 public:
  size_t size() const { return starts_.size(); }
  std::string_view operator[](std::uint32_t t) const {
    const std::uint32_t end = t + 1 < starts_.size() ? starts_[t + 1] : static_cast<std::uint32_t>(arena_.size());
    return std::string_view(arena_).substr(starts_[t], end - starts_[t]);
  }
  size_t bytes() const {
    return arena_.capacity() + starts_.capacity() * sizeof(std::uint32_t) +
           slots_.capacity() * sizeof(std::uint32_t);
  }

  std::optional<std::uint32_t> Find(std::string_view term) const {
    if (slots_.empty()) return std::nullopt;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(term) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) return std::nullopt;
      if ((*this)[slots_[i] - 1] == term) return slots_[i] - 1;
    }
  }

  // The term's number, adding it when new (`added` says so).
  std::uint32_t Intern(std::string_view term, bool& added) {
    if ((size() + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(term) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) {
        const auto t = static_cast<std::uint32_t>(size());
        starts_.push_back(static_cast<std::uint32_t>(arena_.size()));
        arena_.append(term);
        slots_[i] = t + 1;
        added = true;
        return t;
      }
      if ((*this)[slots_[i] - 1] == term) {
        added = false;
        return slots_[i] - 1;
      }
    }
  }

 private:
  static size_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

  void Grow() {
    std::vector<std::uint32_t> slots(std::max<size_t>(1024, slots_.size() * 2), 0);
    const size_t mask = slots.size() - 1;
    for (std::uint32_t t = 0; t < size(); ++t) {
      size_t i = Hash((*this)[t]) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = t + 1;
    }
    slots_ = std::move(slots);
  }

  std::string arena_;
  std::vector<std::uint32_t> starts_;  // by term number: where its bytes start in arena_
  std::vector<std::uint32_t> slots_;   // a power of two, at most half full
};

// The ids and scores of the index fit 32 bits; a store whose do not is answered by its tables.
Status CheckRange(std::int64_t id, std::int64_t score) {
  if (id < 0 || id > UINT32_MAX || score < INT32_MIN || score > INT32_MAX) {
    return Status::Internal("asset id " + std::to_string(id) + " or score " +
                            std::to_string(score) + " does not fit the in-memory index");
  }
  return Status::Ok();
}

}  // namespace

// ---- the index ------------------------------------------------------------------------------

class MemorySearch::Index {
 public:
  // Loading: postings are appended unsorted, each list cut back to its best kKeptPostings
  // whenever it doubles that; Seal sorts and cuts them all.
  Status Load(const SearchDoc& doc) {
    std::vector<Posting> postings = SearchPostings(doc);
    for (const Posting& p : postings) TM_RETURN_IF_ERROR(CheckRange(doc.id, p.score));
    const auto id = static_cast<std::uint32_t>(doc.id);
    docs_[id] = EncodeDoc(doc);
    for (const Posting& p : postings) {
      const std::uint32_t t = Term(p.term);
      std::vector<Entry>& list = lists_[t];
      list.push_back({static_cast<std::int32_t>(p.score), id});
      if (list.size() >= 2 * kKeptPostings) Cut(t);
    }
    return Status::Ok();
  }

  void Seal() {
    for (std::uint32_t t = 0; t < lists_.size(); ++t) {
      std::vector<Entry>& list = lists_[t];
      std::sort(list.begin(), list.end(), Before);
      if (list.size() > kKeptPostings) Cut(t);
      list.shrink_to_fit();
    }
  }

  void AddTypo(const std::string& variant, const std::string& term) {
    const std::uint32_t t = Term(term);
    std::vector<std::uint32_t>& terms = typos_[variant];
    if (std::find(terms.begin(), terms.end(), t) == terms.end()) terms.push_back(t);
  }

  // Replaces document `id` (its old postings out, the new ones in); `now` is null when the
  // asset no longer has a document. Terms whose cut list fell below kMaxPostingsRead are
  // added to `short_terms`.
  void Apply(std::uint32_t id, const SearchDoc* now,
             const std::vector<Posting>& now_postings, std::vector<std::string>& short_terms) {
    ForgetHealth(id);
    std::string encoded = now ? EncodeDoc(*now) : std::string();
    if (auto it = docs_.find(id); it != docs_.end()) {
      // Logged for its health alone (or rebuilt the same): its postings stay as they are.
      if (now && it->second == encoded) return;
      for (const Posting& p : SearchPostings(OwnedDoc(ViewDoc(id, it->second)))) {
        const std::optional<std::uint32_t> t = terms_.Find(p.term);
        if (!t) continue;
        std::vector<Entry>& list = lists_[*t];
        const Entry e{static_cast<std::int32_t>(p.score), id};
        auto at = std::lower_bound(list.begin(), list.end(), e, Before);
        if (at == list.end() || at->id != id || at->score != e.score) continue;
        list.erase(at);
        if (cut_[*t] && list.size() < kMaxPostingsRead) short_terms.emplace_back(p.term);
      }
      docs_.erase(it);
    }
    if (!now) return;
    docs_[id] = std::move(encoded);
    for (const Posting& p : now_postings) Insert(Term(p.term), {static_cast<std::int32_t>(p.score), id});
  }

  // Replaces a cut list with what the store holds now, leaving out `changing` documents (their
  // changes are applied next, from documents read after these postings).
  void Refill(const std::string& term, const std::vector<ScoredId>& postings,
              const std::unordered_set<std::uint32_t>& changing) {
    const std::uint32_t t = Term(term);
    std::vector<Entry>& list = lists_[t];
    list.clear();
    for (const ScoredId& p : postings) {
      if (CheckRange(p.id, p.score).ok() && !changing.count(static_cast<std::uint32_t>(p.id))) {
        list.push_back({static_cast<std::int32_t>(p.score), static_cast<std::uint32_t>(p.id)});
      }
    }
    std::sort(list.begin(), list.end(), Before);
    cut_[t] = postings.size() >= kKeptPostings;
  }

  // The first `limit` postings of `term`, or nullopt when its list was cut shorter than that.
  std::optional<std::vector<ScoredId>> Postings(const std::string& term, size_t limit) const {
    std::vector<ScoredId> out;
    const std::optional<std::uint32_t> t = terms_.Find(term);
    if (!t) return out;
    const std::vector<Entry>& list = lists_[*t];
    if (cut_[*t] && list.size() < limit) return std::nullopt;
    const size_t n = std::min(limit, list.size());
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back({list[i].id, list[i].score});
    return out;
  }

  std::vector<std::string> TypoTerms(const std::vector<std::string>& variants) const {
    std::vector<std::string> out;
    for (const std::string& v : variants) {
      auto it = typos_.find(v);
      if (it == typos_.end()) continue;
      for (std::uint32_t t : it->second) out.emplace_back(terms_[t]);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::vector<SearchDoc> Docs(const std::vector<std::int64_t>& ids) const {
    std::vector<SearchDoc> out;
    for (const SearchDocView& v : DocViews(ids)) out.push_back(OwnedDoc(v));
    return out;
  }

  std::vector<SearchDocView> DocViews(const std::vector<std::int64_t>& ids) const {
    std::vector<SearchDocView> out;
    out.reserve(ids.size());
    for (std::int64_t id : ids) {
      if (id < 0 || id > UINT32_MAX) continue;
      auto it = docs_.find(static_cast<std::uint32_t>(id));
      if (it != docs_.end()) out.push_back(ViewDoc(static_cast<std::uint32_t>(id), it->second));
    }
    return out;
  }

  // Health of `ids` known to the copy: found ones are moved into `out`, the others (whose
  // health the store must tell) are left in `missing`.
  void CachedHealth(const std::vector<std::int64_t>& ids, std::map<std::int64_t, AssetHealth>& out,
                    std::vector<std::int64_t>& missing) const {
    std::lock_guard lock(health_mu_);
    for (std::int64_t id : ids) {
      auto it = health_.find(static_cast<std::uint32_t>(id));
      if (it == health_.end()) {
        missing.push_back(id);
      } else if (it->second) {
        out.emplace(id, *it->second);
      }
    }
  }

  // Remembers the health the store gave for `ids` (those missing from `read` are healthy).
  // REQUIRES: the caller holds the copy's shared lock since before it read them, so that a
  // change logged meanwhile is applied (ForgetHealth) after this.
  void RememberHealth(const std::vector<std::int64_t>& ids,
                      const std::map<std::int64_t, AssetHealth>& read) const {
    std::lock_guard lock(health_mu_);
    if (health_.size() + ids.size() > kHealthCacheEntries) health_.clear();
    for (std::int64_t id : ids) {
      if (id < 0 || id > UINT32_MAX) continue;
      auto it = read.find(id);
      health_[static_cast<std::uint32_t>(id)] =
          it == read.end() ? std::nullopt : std::optional<AssetHealth>(it->second);
    }
  }

  // The encoded document `id`, or nullptr.
  const std::string* Encoded(std::uint32_t id) const {
    auto it = docs_.find(id);
    return it == docs_.end() ? nullptr : &it->second;
  }

  void Count(SearchMemoryStatus& s) const {
    s.assets = static_cast<long long>(docs_.size());
    s.terms = static_cast<long long>(terms_.size());
    long long postings = 0;
    for (const auto& list : lists_) postings += static_cast<long long>(list.size());
    s.postings = postings;
  }

 private:
  std::uint32_t Term(std::string_view term) {
    bool added = false;
    const std::uint32_t t = terms_.Intern(term, added);
    if (added) {
      lists_.emplace_back();
      cut_.push_back(false);
      // The store's deletion index holds every eligible term it ever indexed.
      if (TypoEligible(term)) {
        for (std::string& v : TypoVariants(term)) typos_[std::move(v)].push_back(t);
      }
    }
    return t;
  }

  // Keeps the best kKeptPostings of list `t` (sorted) and marks it cut.
  void Cut(std::uint32_t t) {
    std::vector<Entry>& list = lists_[t];
    std::nth_element(list.begin(), list.begin() + kKeptPostings - 1, list.end(), Before);
    list.resize(kKeptPostings);
    std::sort(list.begin(), list.end(), Before);
    cut_[t] = true;
  }

  void Insert(std::uint32_t t, Entry e) {
    std::vector<Entry>& list = lists_[t];
    auto at = std::lower_bound(list.begin(), list.end(), e, Before);
    if (at != list.end() && at->id == e.id && at->score == e.score) return;  // already there
    // A cut list is the exact top of the term's postings: one after its last is unknown
    // territory (better postings may exist in the store) and stays out.
    if (cut_[t] && at == list.end()) return;
    list.insert(at, e);
    if (list.size() > kKeptPostings) {
      list.pop_back();
      cut_[t] = true;
    }
  }

  void ForgetHealth(std::uint32_t id) {
    std::lock_guard lock(health_mu_);
    health_.erase(id);
  }

  TermDict terms_;
  std::vector<std::vector<Entry>> lists_;  // by term number, best first once sealed
  std::vector<bool> cut_;                  // by term number: the store holds more postings
  std::unordered_map<std::string, std::vector<std::uint32_t>> typos_;  // variant -> terms
  std::unordered_map<std::uint32_t, std::string> docs_;  // asset id -> EncodeDoc
  // Health read from the store for searches (nullopt: healthy), until the change log names
  // the asset again. Filled by searches, which share the copy: hence its own mutex.
  mutable std::mutex health_mu_;
  mutable std::unordered_map<std::uint32_t, std::optional<AssetHealth>> health_;
};

namespace {

// The engine's reader over the index; Health, Browse and cut lists go to the store.
class IndexReader final : public SearchReader {
 public:
  IndexReader(const MemorySearch::Index& index, const SearchSource& source,
              std::atomic<long long>& health_reads)
      : index_(index), source_(source), health_reads_(health_reads) {}

  Result<std::vector<ScoredId>> Postings(const std::string& term, size_t limit) override {
    if (auto got = index_.Postings(term, limit)) return std::move(*got);
    std::vector<ScoredId> out;
    TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
      TM_ASSIGN_OR_RETURN(out, r.Postings(term, limit));
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<std::string>> TypoTerms(const std::vector<std::string>& variants) override {
    return index_.TypoTerms(variants);
  }

  Result<std::vector<SearchDoc>> Docs(const std::vector<std::int64_t>& ids) override {
    return index_.Docs(ids);
  }

  // Views into the index's own bytes, which the search's shared lock keeps in place.
  Result<std::vector<SearchDocView>> DocViews(const std::vector<std::int64_t>& ids,
                                              SearchDocStorage&) override {
    return index_.DocViews(ids);
  }

  // From the copy's cache; the store is asked only for assets it does not know yet.
  Result<std::map<std::int64_t, AssetHealth>> Health(
      const std::vector<std::int64_t>& ids) override {
    std::map<std::int64_t, AssetHealth> out;
    std::vector<std::int64_t> missing;
    index_.CachedHealth(ids, out, missing);
    if (missing.empty()) return out;
    std::map<std::int64_t, AssetHealth> read;
    health_reads_.fetch_add(1, std::memory_order_relaxed);
    TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
      TM_ASSIGN_OR_RETURN(read, r.Health(missing));
      return Status::Ok();
    }));
    index_.RememberHealth(missing, read);
    out.merge(read);
    return out;
  }

  Result<std::vector<std::int64_t>> Browse(const SearchQuery& query, size_t limit) override {
    std::vector<std::int64_t> out;
    TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
      TM_ASSIGN_OR_RETURN(out, r.Browse(query, limit));
      return Status::Ok();
    }));
    return out;
  }

 private:
  const MemorySearch::Index& index_;
  const SearchSource& source_;
  std::atomic<long long>& health_reads_;
};

}  // namespace

// ---- MemorySearch ---------------------------------------------------------------------------

MemorySearch::MemorySearch(SearchSource source, Options options)
    : source_(std::move(source)), options_(options) {}

MemorySearch::~MemorySearch() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status MemorySearch::LoadNow() {
  Status st = Load();
  if (st.ok()) thread_ = std::thread([this] { Run(); });
  return st;
}

void MemorySearch::Start() {
  {
    std::lock_guard lock(run_mu_);
    reload_ = true;
  }
  thread_ = std::thread([this] { Run(); });
}

void MemorySearch::Run() {
  std::unique_lock lock(run_mu_);
  while (!stop_) {
    if (reload_) {
      reload_ = false;
      lock.unlock();
      Status st = Load();
      lock.lock();
      if (!st.ok()) {
        {
          std::lock_guard s(status_mu_);
          status_.error = st.ToString();
        }
        // Tried again later; the store answers meanwhile.
        run_cv_.wait_for(lock, std::max(options_.poll * 10, std::chrono::milliseconds(5000)),
                         [this] { return stop_; });
        reload_ = true;
        continue;
      }
    }
    run_cv_.wait_for(lock, options_.poll, [this] { return stop_ || reload_; });
    if (stop_ || reload_) continue;
    lock.unlock();
    CatchUp();
    lock.lock();
  }
}

void MemorySearch::AskReload() {
  ready_.store(false, std::memory_order_release);
  {
    // Freed before the next load builds another: the two would otherwise coexist.
    std::lock_guard gate(gate_);
    std::unique_lock lock(mu_);
    index_.reset();
  }
  {
    std::lock_guard lock(run_mu_);
    reload_ = true;
  }
  run_cv_.notify_all();
}

Status MemorySearch::Load() {
  // A rebuild logged while loading makes the load start again (a few times at most).
  for (int attempt = 1;; ++attempt) {
    TM_ASSIGN_OR_RETURN(bool loaded, LoadOnce());
    if (loaded) return Status::Ok();
    {
      std::lock_guard lock(run_mu_);
      reload_ = false;
    }
    if (attempt == 3) return Status::Unavailable("the search index kept being rebuilt while loading");
  }
}

Result<bool> MemorySearch::LoadOnce() {
  const auto started = std::chrono::steady_clock::now();
  auto index = std::make_unique<Index>();
  std::int64_t from = 0;
  TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
    TM_ASSIGN_OR_RETURN(auto ends, r.ChangeLogEnds());
    from = std::max(ends.first, ends.second);
    return Status::Ok();
  }));
  // Pages in separate reads: a document changed meanwhile is in the log after `from`.
  for (std::int64_t after = 0;;) {
    {
      std::lock_guard lock(run_mu_);
      if (stop_) return Status::Unavailable("stopped while loading the search index");
    }
    std::vector<SearchDoc> page;
    TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
      TM_ASSIGN_OR_RETURN(page, r.DocsAfter(after, kLoadPage));
      return Status::Ok();
    }));
    for (const SearchDoc& d : page) TM_RETURN_IF_ERROR(index->Load(d));
    if (page.size() < kLoadPage) break;
    after = page.back().id;
  }
  std::vector<std::pair<std::string, std::string>> typos;
  TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
    TM_ASSIGN_OR_RETURN(typos, r.AllTypos());
    return Status::Ok();
  }));
  for (const auto& [variant, term] : typos) index->AddTypo(variant, term);
  index->Seal();

  std::lock_guard catching(catch_mu_);
  {
    std::lock_guard gate(gate_);
    std::unique_lock lock(mu_);
    index_ = std::move(index);
  }
  seq_ = from;
  TM_RETURN_IF_ERROR(CatchUpLocked());
  if (!index_) return false;  // rebuilt meanwhile
  ready_.store(true, std::memory_order_release);
  std::lock_guard s(status_mu_);
  ++status_.loads;
  status_.seq = seq_;
  status_.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  status_.error.clear();
  return true;
}

void MemorySearch::CatchUp() {
  std::lock_guard catching(catch_mu_);
  if (!ready_.load(std::memory_order_acquire)) return;  // the load in progress catches up
  Status st = CatchUpLocked();
  std::lock_guard s(status_mu_);
  status_.error = st.ok() ? std::string() : st.ToString();
}

Status MemorySearch::CatchUpLocked() {
  // Cut lists read from the store in the previous round, installed once the changes logged
  // since have been read: those documents are left out of them and applied afresh.
  std::vector<std::pair<std::string, std::vector<ScoredId>>> refills;
  for (;;) {
    std::vector<SearchChange> changes;
    std::pair<std::int64_t, std::int64_t> ends;
    // The log before its ends: a prune between the two reads shows in the ends.
    TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
      TM_ASSIGN_OR_RETURN(changes, r.ChangesAfter(seq_, kChangesPage));
      TM_ASSIGN_OR_RETURN(ends, r.ChangeLogEnds());
      return Status::Ok();
    }));
    const bool rebuilt = std::any_of(changes.begin(), changes.end(), [](const SearchChange& c) {
      return c.asset_id == kSearchChangeAll;
    });
    if (rebuilt || ends.second > seq_) {  // rebuilt, or pruned past what this copy applied
      AskReload();
      return Status::Ok();
    }
    if (changes.empty() && refills.empty()) return Status::Ok();

    std::vector<std::int64_t> ids;
    std::unordered_set<std::uint32_t> changing;
    for (const SearchChange& c : changes) {
      TM_RETURN_IF_ERROR(CheckRange(c.asset_id, 0));
      if (changing.insert(static_cast<std::uint32_t>(c.asset_id)).second) ids.push_back(c.asset_id);
    }
    std::vector<SearchDoc> docs;
    for (size_t at = 0; at < ids.size(); at += kDocsChunk) {
      std::vector<std::int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                      ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), at + kDocsChunk)));
      std::vector<SearchDoc> got;
      TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
        TM_ASSIGN_OR_RETURN(got, r.Docs(chunk));
        return Status::Ok();
      }));
      for (SearchDoc& d : got) docs.push_back(std::move(d));
    }
    // Postings are derived outside the lock; documents without one were deleted.
    std::unordered_map<std::uint32_t, size_t> doc_of;
    std::vector<std::vector<Posting>> postings(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
      postings[i] = SearchPostings(docs[i]);
      for (const Posting& p : postings[i]) TM_RETURN_IF_ERROR(CheckRange(docs[i].id, p.score));
      doc_of[static_cast<std::uint32_t>(docs[i].id)] = i;
    }

    std::vector<std::string> short_terms;
    for (size_t at = 0; at < ids.size() || (at == 0 && !refills.empty()); at += kApplyChunk) {
      std::lock_guard gate(gate_);
      std::unique_lock lock(mu_);
      if (!index_) return Status::Ok();
      if (at == 0) {
        for (const auto& [term, list] : refills) index_->Refill(term, list, changing);
      }
      for (size_t i = at; i < std::min(ids.size(), at + kApplyChunk); ++i) {
        const auto id = static_cast<std::uint32_t>(ids[i]);
        auto it = doc_of.find(id);
        static const std::vector<Posting> kNone;
        if (it == doc_of.end()) {
          index_->Apply(id, nullptr, kNone, short_terms);
        } else {
          index_->Apply(id, &docs[it->second], postings[it->second], short_terms);
        }
      }
    }
    {
      std::lock_guard s(status_mu_);
      status_.changes_applied += static_cast<long long>(ids.size());
      status_.refills += static_cast<long long>(refills.size());
    }
    if (!changes.empty()) seq_ = changes.back().seq;
    {
      std::lock_guard s(status_mu_);
      status_.seq = seq_;
    }
    refills.clear();

    std::sort(short_terms.begin(), short_terms.end());
    short_terms.erase(std::unique(short_terms.begin(), short_terms.end()), short_terms.end());
    if (short_terms.size() > kRefillsPerRound) short_terms.resize(kRefillsPerRound);
    if (!short_terms.empty()) {
      TM_RETURN_IF_ERROR(source_([&](SearchLogReader& r) -> Status {
        refills.clear();
        for (const std::string& term : short_terms) {
          TM_ASSIGN_OR_RETURN(std::vector<ScoredId> list, r.Postings(term, kKeptPostings));
          refills.emplace_back(term, std::move(list));
        }
        return Status::Ok();
      }));
    }
    if (refills.empty() && changes.size() < kChangesPage) return Status::Ok();
  }
}

template <typename Fn>
auto MemorySearch::Answer(Fn&& run) -> std::optional<decltype(run(std::declval<SearchReader&>()))> {
  if (!ready_.load(std::memory_order_acquire)) return std::nullopt;
  { std::lock_guard gate(gate_); }  // an update waiting for the lock goes first
  std::shared_lock lock(mu_);
  if (!index_) return std::nullopt;
  IndexReader reader(*index_, source_, health_reads_);
  searches_.fetch_add(1, std::memory_order_relaxed);
  return run(reader);
}

std::optional<Result<SearchResults>> MemorySearch::Search(const SearchQuery& query) {
  return Answer([&](SearchReader& reader) { return RunSearch(query, reader); });
}

std::optional<Result<std::vector<Suggestion>>> MemorySearch::Suggest(const SuggestQuery& query) {
  return Answer([&](SearchReader& reader) { return RunSuggest(query, reader); });
}

SearchMemoryStatus MemorySearch::GetStatus() const {
  SearchMemoryStatus out;
  {
    std::lock_guard s(status_mu_);
    out = status_;
  }
  out.loaded = ready_.load(std::memory_order_acquire);
  out.searches = searches_.load(std::memory_order_relaxed);
  out.health_reads = health_reads_.load(std::memory_order_relaxed);
  std::shared_lock lock(mu_);
  if (index_) index_->Count(out);
  return out;
}

Result<std::unique_ptr<MemorySearch>> StartMemorySearch(const StoreOptions& options,
                                                        SearchSource source) {
  if (!options.search_in_memory) return std::unique_ptr<MemorySearch>();
  auto memory = std::make_unique<MemorySearch>(std::move(source),
                                               MemorySearch::Options{.poll = options.search_poll});
  if (options.search_load_at_open) {
    TM_RETURN_IF_ERROR(memory->LoadNow().WithContext("load the search index into memory"));
  } else {
    memory->Start();
  }
  return memory;
}

}  // namespace tidemark::catalog
