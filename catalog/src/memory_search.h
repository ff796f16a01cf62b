#pragma once

// A copy of a store's search index in memory, behind the same SearchReader, so that `serve`
// answers searches and type-ahead without reading the index tables (issue 6). RunSearch and
// RunSuggest rank exactly as they do on the store: the copy holds the same documents, derives
// the same postings from them (SearchPostings), and returns each term's postings in the
// index's order.
//
// LAYOUT. Documents are kept as one byte string each (their stored text, lists one per line)
// and decoded for the candidates a search reads. Terms are interned in one arena. A term keeps
// at most kKeptPostings postings, best first: the engine never reads more than
// kMaxPostingsRead of one term, and frequent words (a column named "id" is in most assets)
// would otherwise hold most of the memory and make each update move megabytes. A cut list is
// the exact top of the term's postings; when updates leave it shorter than kMaxPostingsRead,
// it is read again from the store (a refill), and until then the store answers for that term.
// Health (open incidents, last anomaly) is read from the store for assets a search shows and
// remembered until the change log names the asset again: writers log the assets whose
// incidents or anomalies they changed as well as those they reindexed. Filter-only browsing
// (Browse) is read from the store.
//
// CURRENCY. Loading reads the change log's end, then every document, then applies the changes
// logged meanwhile. After that the copy applies the change log (search_engine.h): on each
// commit of this process before its Write returns (CatchUp), and every `poll` for other
// processes' writes. A rebuild, or a log pruned past the copy's position, makes it load again;
// until a load completes the store answers (Search returns nullopt).
//
// Thread-safety: Search and Suggest run concurrently; updates wait for the searches in flight
// and hold new ones back while they apply (a chunk of documents at a time).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "search_engine.h"
#include "tidemark/catalog/search.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {

// Runs `fn` with a reader on one of the store's connections (no transaction is needed).
using SearchSource =
    std::function<model::Status(const std::function<model::Status(SearchLogReader&)>& fn)>;

// Postings kept per term: the most the engine reads, and slack for removals before a refill.
inline constexpr size_t kKeptPostings = kMaxPostingsRead + kMaxPostingsRead / 2;

class MemorySearch {
 public:
  struct Options {
    std::chrono::milliseconds poll{500};
  };

  MemorySearch(SearchSource source, Options options);
  ~MemorySearch();  // stops the background thread (a load in progress stops at its next page)
  MemorySearch(const MemorySearch&) = delete;
  MemorySearch& operator=(const MemorySearch&) = delete;

  // Loads now, on the calling thread, then follows the log in the background.
  model::Status LoadNow();
  // Loads and follows the log in the background.
  void Start();

  // nullopt until loaded (and while loading again): the caller asks its store.
  std::optional<model::Result<SearchResults>> Search(const SearchQuery& query);
  std::optional<model::Result<std::vector<Suggestion>>> Suggest(const SuggestQuery& query);

  // Applies the changes logged since the last catch-up, before returning (no-op until loaded).
  void CatchUp();

  SearchMemoryStatus GetStatus() const;

  class Index;  // memory_search.cc

 private:
  // `run` with a reader over the index, or nullopt when there is none yet.
  template <typename Fn>
  auto Answer(Fn&& run) -> std::optional<decltype(run(std::declval<SearchReader&>()))>;
  void Run();
  model::Status Load();
  // False when the index was rebuilt meanwhile (load again).
  model::Result<bool> LoadOnce();
  // Requires catch_mu_. Applies logged changes; asks for a load when the log says so.
  model::Status CatchUpLocked();
  void AskReload();

  const SearchSource source_;
  const Options options_;

  std::mutex gate_;               // held by an update while it waits for and holds mu_
  mutable std::shared_mutex mu_;  // index_
  std::unique_ptr<Index> index_;

  std::mutex catch_mu_;           // one catch-up at a time; seq_ and the counters below
  std::int64_t seq_ = 0;          // every change through seq_ is applied
  std::atomic<bool> ready_{false};
  std::atomic<long long> searches_{0};
  std::atomic<long long> health_reads_{0};

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_ = false;
  bool reload_ = false;
  std::thread thread_;

  mutable std::mutex status_mu_;
  SearchMemoryStatus status_;
};

// The copy a store keeps for `options` (nullptr unless options.search_in_memory): loading in
// the background, or loaded already when options.search_load_at_open.
model::Result<std::unique_ptr<MemorySearch>> StartMemorySearch(const StoreOptions& options,
                                                               SearchSource source);

}  // namespace tidemark::catalog
