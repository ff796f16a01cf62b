// The search engine and lineage walk shared by SqliteStore and PostgresStore. The contract
// and the ranking are in search_engine.h; this file has the reasons.

#include "search_engine.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <unordered_set>

namespace tidemark::catalog {
namespace {

using model::Result;
using model::Status;

// Field weights, best first (search_engine.h, RANKING).
constexpr std::int64_t kWName = 1000, kWPrefix = 700, kWFullName = 700, kWColumn = 500,
                       kWTag = 300, kWOwner = 250, kWDescription = 150;
constexpr std::int64_t kExactName = 100000, kExactFullName = 90000;
constexpr std::int64_t kDeprecatedPenalty = 1000000, kRemovedPenalty = 2000000;
// Descriptions are indexed and kept up to this many bytes: enough for a paragraph.
constexpr size_t kDescriptionBytes = 4000;
constexpr size_t kMaxTokenBytes = 64;

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
char Lower(char c) { return IsUpper(static_cast<unsigned char>(c)) ? static_cast<char>(c + 32) : c; }

std::string Join(const std::vector<std::string>& tokens, char sep = ' ') {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += sep;
    out += t;
  }
  return out;
}

bool AllAsciiLetters(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return IsLower(c); });
}

// Optimal string alignment distance capped at 2 (we only ask "at most one edit?").
int EditDistanceAtMost1(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t n = a.size(), m = b.size();
  if (n > m + 1 || m > n + 1) return 2;
  size_t i = 0;
  while (i < n && i < m && a[i] == b[i]) ++i;
  if (n == m) {
    if (a.substr(i + 1) == b.substr(i + 1)) return 1;  // substitution
    if (i + 1 < n && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2)) {
      return 1;  // adjacent transposition
    }
    return 2;
  }
  if (n > m) return a.substr(i + 1) == b.substr(i) ? 1 : 2;
  return b.substr(i + 1) == a.substr(i) ? 1 : 2;
}

bool ContainsSeq(const std::vector<std::string_view>& hay, std::span<const std::string> needle) {
  if (needle.empty() || needle.size() > hay.size()) return false;
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// Whether `joined` is `tokens` joined by ' ' (Join), without building the joined string.
bool IsJoined(std::string_view joined, const std::vector<std::string_view>& tokens) {
  size_t at = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) {
      if (at >= joined.size() || joined[at] != ' ') return false;
      ++at;
    }
    if (joined.substr(at, tokens[i].size()) != tokens[i]) return false;
    at += tokens[i].size();
  }
  return at == joined.size();
}

// Whether Join(tokens) starts with `prefix`, without building the joined string.
bool JoinedStartsWith(const std::vector<std::string>& tokens, std::string_view prefix) {
  size_t at = 0;  // bytes of `prefix` matched
  for (size_t i = 0; i < tokens.size() && at < prefix.size(); ++i) {
    if (i > 0) {
      if (prefix[at] != ' ') return false;
      ++at;
    }
    const size_t n = std::min(tokens[i].size(), prefix.size() - at);
    if (prefix.substr(at, n) != std::string_view(tokens[i]).substr(0, n)) return false;
    at += n;
  }
  return at == prefix.size();
}

// AssetHealth::Label without building a string.
std::string_view HealthLabel(const AssetHealth& h) {
  if (h.open_incidents > 0) return "incident";
  if (h.last_anomaly_at) return "anomaly";
  return "healthy";
}

}  // namespace

std::string AssetHealth::Label() const { return std::string(HealthLabel(*this)); }

namespace {

// Calls emit(begin, end) for the byte range of each token of `text` (Tokenize's rules; the
// token is that range lower-cased, cut to kMaxTokenBytes).
template <typename Emit>
void TokenRanges(std::string_view text, Emit&& emit) {
  const size_t size = text.size();
  for (size_t i = 0; i < size;) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80 && !IsAlnum(c)) {  // a separator (bytes of UTF-8 sequences are word bytes)
      ++i;
      continue;
    }
    size_t begin = i++;
    for (; i < size; ++i) {
      c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80) continue;
      if (!IsAlnum(c)) break;
      if (!IsUpper(c)) continue;
      const unsigned char prev = static_cast<unsigned char>(text[i - 1]);
      const bool next_lower =
          i + 1 < size && IsLower(static_cast<unsigned char>(text[i + 1]));
      // fctOrders: lower -> Upper; HTTPServer: the S of Server (upper followed by lower).
      if (IsLower(prev) || (IsUpper(prev) && next_lower)) {
        emit(begin, i);
        begin = i;
      }
    }
    emit(begin, i);
  }
}

}  // namespace

void Tokenize(std::string_view text, std::vector<std::string>& out) {
  // Each token is found as a run of bytes and copied at once (out's later strings are
  // reused, then dropped): appending byte by byte was most of the cost of matching a query
  // against a candidate's fields.
  size_t n = 0;  // tokens written
  TokenRanges(text, [&](size_t begin, size_t end) {
    if (n == out.size()) out.emplace_back();
    std::string& t = out[n++];
    t.assign(text.data() + begin, std::min(end - begin, kMaxTokenBytes));
    for (char& c : t) c = Lower(c);
  });
  out.resize(n);
}

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  Tokenize(text, out);
  return out;
}

std::string JoinLines(const std::vector<std::string>& items) { return Join(items, '\n'); }

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  ForEachLine(text, [&](std::string_view line) { out.emplace_back(line); });
  return out;
}

Result<std::vector<SearchDocView>> SearchReader::DocViews(const std::vector<std::int64_t>& ids,
                                                          SearchDocStorage& storage) {
  TM_ASSIGN_OR_RETURN(storage.docs, Docs(ids));
  storage.lists.clear();
  // Reserved first: a view into a short string points into the string itself, which a
  // reallocation would move.
  storage.lists.reserve(2 * storage.docs.size());
  std::vector<SearchDocView> out;
  out.reserve(storage.docs.size());
  for (const SearchDoc& d : storage.docs) {
    const std::string& tags = storage.lists.emplace_back(JoinLines(d.tags));
    const std::string& owners = storage.lists.emplace_back(JoinLines(d.owners));
    out.push_back({.id = d.id,
                   .ns = d.key.ns,
                   .key_name = d.key.name,
                   .kind = d.kind,
                   .name = d.name,
                   .description = d.description,
                   .source = d.source,
                   .database = d.database,
                   .schema = d.schema,
                   .status = d.status,
                   .columns = d.columns,
                   .tags = tags,
                   .owners = owners,
                   .downstream = d.downstream,
                   .exposures = d.exposures,
                   .boost = d.boost});
  }
  return out;
}

std::string EncodePostings(const std::vector<Posting>& postings) {
  std::string out;
  for (const Posting& p : postings) {
    out += std::to_string(p.score);
    out += ' ';
    out += p.term;
    out += '\n';
  }
  return out;
}

std::vector<Posting> DecodePostings(std::string_view text) {
  std::vector<Posting> out;
  for (const std::string& line : SplitLines(text)) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out.push_back({line.substr(sp + 1), std::strtoll(line.c_str(), nullptr, 10)});
  }
  return out;
}

std::vector<std::string> TypoVariants(std::string_view term) {
  std::vector<std::string> out;
  if (term.size() < 5 || term.size() > 24 || !AllAsciiLetters(term)) return out;
  out.emplace_back(term);
  for (size_t i = 0; i < term.size(); ++i) {
    std::string v(term.substr(0, i));
    v += term.substr(i + 1);
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(std::move(v));
  }
  return out;
}

std::int64_t SearchBoost(const SearchDocInput& in) {
  std::int64_t b = 0;
  b += std::min<std::int64_t>(50, std::llround(10 * std::log2(1.0 + static_cast<double>(in.downstream))));
  b += std::min<std::int64_t>(25, 10 * in.exposures);
  if (!in.owners.empty()) b += 14;
  if (!in.description.empty()) b += 10;
  if (in.status == "deprecated") b -= kDeprecatedPenalty;
  if (in.status == "removed") b -= kRemovedPenalty;
  return b;
}

BuiltDoc BuildSearchDoc(const SearchDocInput& in) {
  BuiltDoc out;
  SearchDoc& d = out.doc;
  d.id = in.id;
  d.key = in.key;
  d.kind = in.kind;
  d.name = in.name;
  d.description = in.description.substr(0, kDescriptionBytes);
  d.source = in.source;
  d.database = in.database;
  d.schema = in.schema;
  d.status = in.status;
  d.columns = JoinLines(in.columns);
  d.tags = in.tags;
  d.owners = in.owners;
  d.downstream = in.downstream;
  d.exposures = in.exposures;
  d.boost = SearchBoost(in);
  out.postings = SearchPostings(d);
  for (const Posting& p : out.postings) {
    if (TypoEligible(p.term)) out.typo_terms.push_back(p.term);
  }
  return out;
}

bool TypoEligible(std::string_view term) { return term.size() >= 5 && AllAsciiLetters(term); }

std::vector<Posting> SearchPostings(const SearchDoc& d) {
  // Every (term, field weight) seen; each term then keeps its best weight.
  std::vector<Posting> all;
  all.reserve(64);
  auto post = [&](std::string term, std::int64_t weight) {
    all.push_back({std::move(term), weight});
  };
  std::vector<std::string> tokens;  // reused: Tokenize keeps its strings' buffers
  auto post_all = [&](std::string_view text, std::int64_t weight) {
    Tokenize(text, tokens);
    for (const std::string& t : tokens) post(t, weight);
  };
  std::vector<std::string> name_tokens = Tokenize(d.name);
  std::vector<std::string> full_tokens = Tokenize(d.key.name);
  for (const std::string& t : name_tokens) {
    post(t, kWName);
    for (size_t n = 2; n <= std::min(kPrefixChars, t.size()); ++n) post("^" + t.substr(0, n), kWName);
  }
  for (const std::string& t : full_tokens) post(t, kWFullName);
  if (!name_tokens.empty()) {
    const std::string joined = Join(name_tokens);
    post("=" + joined, kExactName);
    for (size_t n = 1; n <= std::min(kNamePrefixChars, joined.size()); ++n) {
      if (joined[n - 1] != ' ') post("~" + joined.substr(0, n), kWName);
    }
  }
  if (!full_tokens.empty()) post("=" + Join(full_tokens), kExactFullName);
  // One column per line: a line break separates tokens like any other separator, so the
  // stored text yields the tokens of each column in turn.
  post_all(d.columns, kWColumn);
  for (const std::string& t : d.tags) post_all(t, kWTag);
  for (const std::string& o : d.owners) post_all(o, kWOwner);
  post_all(d.description, kWDescription);

  // Sorted through indices (cheaper to swap than strings): by term, the best weight first.
  std::vector<std::uint32_t> order(all.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    int c = all[a].term.compare(all[b].term);
    return c != 0 ? c < 0 : all[a].score > all[b].score;
  });
  std::vector<Posting> postings;
  postings.reserve(all.size());
  for (std::uint32_t i : order) {
    if (!postings.empty() && postings.back().term == all[i].term) continue;
    Posting& p = postings.emplace_back(std::move(all[i]));
    p.score += d.boost;
  }
  return postings;
}

namespace {

// The index's changes for one chunk of loaded documents.
struct ChunkChanges {
  std::vector<SearchIndexWriter::Change> changes;
  std::vector<std::pair<std::string, std::string>> typos;  // (variant, term)
};

// Builds each document and diffs its postings with the old ones. `fresh` collects the terms
// this reindex adds to the deletion index (only this function touches it).
ChunkChanges BuildChanges(const std::vector<SearchDocInput>& inputs,
                          const std::vector<std::string>& olds,
                          const std::unordered_set<std::string>& known_typos,
                          std::unordered_set<std::string>& fresh) {
  ChunkChanges out;
  out.changes.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    BuiltDoc built = BuildSearchDoc(inputs[i]);
    SearchIndexWriter::Change c;
    c.encoded = EncodePostings(built.postings);
    if (olds[i].empty()) {  // a new document (every one, in a rebuild): all of it is added
      c.added = std::move(built.postings);
    } else {
      std::vector<Posting> old = DecodePostings(olds[i]);
      auto key = [](const Posting& p) { return std::tie(p.term, p.score); };
      auto less = [&](const Posting& a, const Posting& b) { return key(a) < key(b); };
      std::sort(old.begin(), old.end(), less);
      // Built postings are sorted by term, and terms are unique: sorted by key too.
      const std::vector<Posting>& now = built.postings;
      std::set_difference(old.begin(), old.end(), now.begin(), now.end(),
                          std::back_inserter(c.removed), less);
      std::set_difference(now.begin(), now.end(), old.begin(), old.end(),
                          std::back_inserter(c.added), less);
    }
    for (const std::string& t : built.typo_terms) {
      if (known_typos.count(t) || !fresh.insert(t).second) continue;
      for (std::string& v : TypoVariants(t)) out.typos.emplace_back(std::move(v), t);
    }
    c.doc = std::move(built.doc);
    out.changes.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Status ReindexAssets(SearchIndexWriter& writer, const std::vector<std::int64_t>& ids,
                     const std::unordered_set<std::string>& known_typos,
                     std::vector<std::string>& new_typos) {
  constexpr size_t kChunk = 500;  // bounds the memory of one statement's arrays
  std::unordered_set<std::string> fresh;
  auto apply = [&](const ChunkChanges& built) -> Status {
    TM_RETURN_IF_ERROR(writer.Apply(built.changes));
    if (!built.typos.empty()) TM_RETURN_IF_ERROR(writer.AddTypos(built.typos));
    return Status::Ok();
  };
  // More than one chunk (a large batch, a rebuild): documents of chunk k are built on a second
  // thread while this one writes chunk k-1 and loads chunk k+1. The writer (and its connection
  // or transaction) is only ever used from this thread.
  std::future<ChunkChanges> building;  // declared after `fresh`, which it uses: joined first
  for (size_t at = 0; at < ids.size(); at += kChunk) {
    std::vector<std::int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                    ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), at + kChunk)));
    auto inputs = std::make_shared<std::vector<SearchDocInput>>();
    auto olds = std::make_shared<std::vector<std::string>>();
    TM_RETURN_IF_ERROR(writer.Load(chunk, *inputs, *olds));
    if (ids.size() <= kChunk) {
      TM_RETURN_IF_ERROR(apply(BuildChanges(*inputs, *olds, known_typos, fresh)));
      break;
    }
    std::optional<ChunkChanges> previous;
    if (building.valid()) previous = building.get();
    building = std::async(std::launch::async, [inputs, olds, &known_typos, &fresh] {
      return BuildChanges(*inputs, *olds, known_typos, fresh);
    });
    if (previous) TM_RETURN_IF_ERROR(apply(*previous));
  }
  if (building.valid()) TM_RETURN_IF_ERROR(apply(building.get()));
  TM_RETURN_IF_ERROR(writer.Finish());
  new_typos.insert(new_typos.end(), fresh.begin(), fresh.end());
  return Status::Ok();
}

// ---- query parsing --------------------------------------------------------------------------

namespace {

enum class GroupKind { kWord, kPhrase, kPrefix, kExclude };

// One unit of the query that must match (or, for kExclude, must not).
struct Group {
  GroupKind kind = GroupKind::kWord;
  std::vector<std::string> tokens;     // one token for kWord/kPrefix
  std::vector<std::string> typo_terms; // kWord: indexed terms one edit away
};

struct ParsedQuery {
  std::vector<Group> groups;
  std::vector<std::string> plain_tokens;  // all tokens of positive groups, in order
  bool plain = true;                      // no operators: eligible for exact-name lookup
};

Result<ParsedQuery> ParseQuery(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return Status::InvalidArgument("query is " + std::to_string(text.size()) +
                                       " bytes; at most " + std::to_string(kMaxQueryBytes) +
                                       " are searched",
                                   "q");
  }
  ParsedQuery q;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    bool exclude = false;
    if (c == '-' && i + 1 < text.size() && text[i + 1] != ' ') {
      exclude = true;
      ++i;
      c = text[i];
    }
    std::string_view raw;
    bool quoted = false;
    if (c == '"') {
      size_t end = text.find('"', i + 1);
      if (end == std::string_view::npos) end = text.size();  // an unclosed quote runs to the end
      raw = text.substr(i + 1, end - i - 1);
      i = std::min(text.size(), end + 1);
      quoted = true;
    } else {
      size_t end = i;
      while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' &&
             text[end] != '\r' && text[end] != '"') {
        ++end;
      }
      raw = text.substr(i, end - i);
      i = end;
    }
    bool prefix = !quoted && !raw.empty() && raw.back() == '*';
    std::vector<std::string> tokens = Tokenize(raw);
    if (tokens.empty()) continue;  // punctuation, operators on their own: nothing to search
    Group g;
    g.tokens = tokens;
    if (exclude) {
      g.kind = GroupKind::kExclude;
      q.plain = false;
    } else if (prefix && tokens.size() == 1) {
      g.kind = GroupKind::kPrefix;
      q.plain = false;
    } else if (tokens.size() > 1) {
      g.kind = GroupKind::kPhrase;
      if (quoted) q.plain = false;
    }
    if (!exclude) q.plain_tokens.insert(q.plain_tokens.end(), tokens.begin(), tokens.end());
    if (exclude || quoted || prefix) q.plain = q.plain && !quoted && !prefix && !exclude;
    q.groups.push_back(std::move(g));
  }
  size_t positive = 0;
  for (const Group& g : q.groups) positive += g.kind != GroupKind::kExclude;
  if (q.groups.size() > kMaxQueryWords) {
    return Status::InvalidArgument("query has " + std::to_string(q.groups.size()) +
                                       " words or phrases; at most " +
                                       std::to_string(kMaxQueryWords) + " are searched",
                                   "q");
  }
  if (positive == 0) {
    return Status::InvalidArgument(
        "query has no word to search for (give a word, or a filter to list what it keeps)", "q");
  }
  return q;
}

template <typename Token, typename T>
bool HasToken(const std::vector<Token>& tokens, const T& t) {
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

// Where `needle` (lower case, as every token is) first occurs in `text` at or after `from`,
// ignoring ASCII case, or npos. A token of a field is a run of the field's bytes,
// lower-cased, so a field without the substring cannot hold the token.
//
// Eight possible starts are tested at once (SWAR): a byte whose value with bit 5 set equals
// the needle's first byte with bit 5 set is its upper or lower case (or, for a few
// non-letters, a false start that the exact test rejects). Testing byte by byte was a ninth
// of a search's instructions.
size_t FindFolded(std::string_view text, std::string_view needle, size_t from = 0) {
  if (needle.empty()) return from <= text.size() ? from : std::string_view::npos;
  if (needle.size() > text.size()) return std::string_view::npos;
  const size_t last = text.size() - needle.size();  // the last possible start
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const std::uint64_t pattern = kOnes * (static_cast<unsigned char>(needle[0]) | 0x20U);
  const char* data = text.data();
  for (size_t i = from; i <= last;) {
    if constexpr (std::endian::native == std::endian::little) {
      if (i + 8 <= text.size()) {
        std::uint64_t w;
        std::memcpy(&w, data + i, 8);
        const std::uint64_t x = (w | (kOnes * 0x20)) ^ pattern;  // 0 where a start may be
        const std::uint64_t zero = (x - kOnes) & ~x & kHighs;    // its lowest bit is exact
        if (zero == 0) {
          i += 8;
          continue;
        }
        i += static_cast<size_t>(std::countr_zero(zero)) / 8;
        if (i > last) break;
      }
    }
    size_t k = 0;
    while (k < needle.size() && Lower(data[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
    ++i;
  }
  return std::string_view::npos;
}

bool ContainsFolded(std::string_view text, std::string_view needle) {
  return FindFolded(text, needle) != std::string_view::npos;
}

bool IsSeparator(unsigned char c) { return c < 0x80 && !IsAlnum(c); }

// Where the first occurrence of token `word` (Tokenize's rules) in `text` at or after `from`
// begins, or npos; without tokenising all of `text`. Each occurrence of the bytes (ignoring
// case) is checked within its run of word bytes: a separator starts TokenRanges afresh, so a
// run has the same tokens on its own as inside the text.
size_t FindToken(std::string_view text, std::string_view word, size_t from = 0) {
  for (size_t at = FindFolded(text, word, from); at != std::string_view::npos;) {
    size_t begin = at, end = at + word.size();
    while (begin > 0 && !IsSeparator(static_cast<unsigned char>(text[begin - 1]))) --begin;
    while (end < text.size() && !IsSeparator(static_cast<unsigned char>(text[end]))) ++end;
    const std::string_view run = text.substr(begin, end - begin);
    bool found = false;
    TokenRanges(run, [&](size_t b, size_t e) {
      if (found || std::min(e - b, kMaxTokenBytes) != word.size()) return;
      size_t k = 0;
      while (k < word.size() && Lower(run[b + k]) == word[k]) ++k;
      found = k == word.size();
    });
    if (found) return at;
    at = FindFolded(text, word, end);
  }
  return std::string_view::npos;
}

// `text` lower-cased (ASCII) into `out`, eight bytes at a time.
void LowerCopy(std::string_view text, char* out) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  size_t k = 0;
  for (; k + 8 <= text.size(); k += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + k, 8);
    const std::uint64_t low7 = w & ~kHighs;
    const std::uint64_t from_a = low7 + kOnes * (0x80 - 'A');  // high bit: at least 'A'
    const std::uint64_t past_z = low7 + kOnes * (0x7F - 'Z');  // high bit: above 'Z'
    const std::uint64_t upper = (from_a ^ past_z) & ~w & kHighs;  // ASCII 'A'-'Z'
    w |= upper >> 2;                                              // + 0x20
    std::memcpy(out + k, &w, 8);
  }
  for (; k < text.size(); ++k) out[k] = Lower(text[k]);
}

// `tokens` (as Tokenize makes them) of `text`, as views into `lower`, a lower-cased copy.
void LowerTokens(std::string_view text, std::string& lower, std::vector<std::string_view>& tokens) {
  lower.resize(text.size());
  LowerCopy(text, lower.data());
  tokens.clear();
  TokenRanges(text, [&](size_t begin, size_t end) {
    tokens.push_back(std::string_view(lower).substr(begin, std::min(end - begin, kMaxTokenBytes)));
  });
}

// A candidate's fields in match order, heaviest first: name, full name, columns, tags, owners,
// description. Columns, tags and owners are lists (one item per line, each item a field);
// a list is searched as a whole and only the items holding a query word as a substring are
// looked at. A field is tokenised only when every word of the group being matched occurs in
// it as a substring. Tokenising every field of every candidate was most of a query's time,
// and setting up a field per column, tag and owner of every candidate a tenth of it.
class DocFields {
 public:
  enum Block : size_t { kName, kFullName, kColumns, kTags, kOwners, kDescription, kBlocks };

  static constexpr std::string_view Kind(size_t b) {  // as in SearchMatch::field
    constexpr std::string_view kKinds[kBlocks] = {"name", "full_name", "column",
                                                  "tag",  "owner",     "description"};
    return kKinds[b];
  }
  static constexpr std::int64_t Weight(size_t b) {
    constexpr std::int64_t kWeights[kBlocks] = {kWName, kWFullName, kWColumn,
                                                kWTag,  kWOwner,    kWDescription};
    return kWeights[b];
  }

  // Points at `d` (which must outlive the use), keeping the buffers of the previous document.
  void Reset(const SearchDocView& d) {
    static_assert(kWName >= kWFullName && kWFullName >= kWColumn && kWColumn >= kWTag &&
                  kWTag >= kWOwner && kWOwner >= kWDescription);
    text_[kName] = d.name;
    text_[kFullName] = d.key_name;
    text_[kColumns] = d.columns;
    text_[kTags] = d.tags;
    text_[kOwners] = d.owners;
    text_[kDescription] = d.description;
    valid_ = 0;
  }

  std::string_view Text(size_t b) const { return text_[b]; }
  const std::vector<std::string_view>& Name() { return Tokens(kName); }

  // Whether the tokens of block `b` joined by ' ' are `joined` (IsJoined). Most are told by
  // the first byte, without tokenising: the exact-name tests tokenised every candidate's
  // full name.
  bool TokensJoinedAre(size_t b, std::string_view joined) {
    const std::string_view text = text_[b];
    size_t first = 0;
    while (first < text.size() && IsSeparator(static_cast<unsigned char>(text[first]))) ++first;
    if (first == text.size()) return joined.empty();  // no token
    if (!joined.empty() && Lower(text[first]) != joined[0]) return false;
    return IsJoined(joined, Tokens(b));
  }

  // Whether a field of block `b` has `seq` as consecutive tokens; if so `value` is the first
  // such field as SearchMatch::value shows it (the description shows none).
  bool Find(size_t b, std::span<const std::string> seq, std::string_view& value) {
    const std::string_view text = text_[b];
    if (b == kDescription && seq.size() == 1) {  // most of a description is never tokenised
      if (FindToken(text, seq[0]) == std::string_view::npos) return false;
      value = {};
      return true;
    }
    if (b != kColumns && b != kTags && b != kOwners) {
      for (const std::string& t : seq) {
        if (!ContainsFolded(text, t)) return false;
      }
      if (!ContainsSeq(Tokens(b), seq)) return false;
      value = b == kDescription ? std::string_view() : text;
      return true;
    }
    if (seq.size() == 1) {
      // A token holds no line break: the item holding its first occurrence is the first
      // item that has it.
      const size_t at = FindToken(text, seq[0]);
      if (at == std::string_view::npos) return false;
      const size_t nl = text.rfind('\n', at);
      const size_t begin = nl == std::string_view::npos ? 0 : nl + 1;
      value = text.substr(begin, std::min(text.find('\n', at), text.size()) - begin);
      return true;
    }
    // Each occurrence of the first word lies in one item: the items are tried in order, each
    // once.
    for (size_t at = FindFolded(text, seq[0]); at != std::string_view::npos;) {
      const size_t nl = text.rfind('\n', at);
      const size_t begin = nl == std::string_view::npos ? 0 : nl + 1;
      const size_t end = std::min(text.find('\n', at), text.size());
      const std::string_view item = text.substr(begin, end - begin);
      bool has = std::all_of(seq.begin() + 1, seq.end(),
                             [&](const std::string& t) { return ContainsFolded(item, t); });
      if (has) {
        LowerTokens(item, item_lower_, item_tokens_);
        has = ContainsSeq(item_tokens_, seq);
      }
      if (has) {
        value = item;
        return true;
      }
      at = FindFolded(text, seq[0], end);
    }
    return false;
  }

 private:
  const std::vector<std::string_view>& Tokens(size_t b) {
    if (!(valid_ & (1U << b))) {
      LowerTokens(text_[b], lower_[b], tokens_[b]);
      valid_ |= 1U << b;
    }
    return tokens_[b];
  }

  std::string_view text_[kBlocks];
  unsigned valid_ = 0;  // bit b: tokens_[b] holds block b's tokens (name, full name, description)
  // Kept across Reset: no allocation per document once they are large enough.
  std::vector<std::string_view> tokens_[kBlocks];  // views into lower_
  std::string lower_[kBlocks];
  std::vector<std::string_view> item_tokens_;  // the list item being checked, into item_lower_
  std::string item_lower_;
};

// What one group matched in one document: views into the document and constants, made into
// a SearchMatch only for the hits shown (three strings for each of ~200 candidates were a
// twentieth of a search).
struct GroupMatch {
  std::int64_t weight = 0;
  std::string_view field, value, how;
};

// The best match of `g` in the document, or weight 0 (the first field wins a tie).
GroupMatch MatchGroup(const Group& g, DocFields& f) {
  GroupMatch best;
  if (g.kind == GroupKind::kPrefix) {
    const std::string& p = g.tokens[0];
    for (const auto& tok : f.Name()) {
      if (tok.starts_with(p)) {
        return {kWPrefix, DocFields::Kind(DocFields::kName), f.Text(DocFields::kName), "prefix"};
      }
    }
    return best;
  }
  // Fields come in order of weight, so once the best match found weighs as much as a field
  // would, no later field can replace it: the rest are not searched.
  const std::int64_t n = static_cast<std::int64_t>(g.tokens.size());
  // Exact words (a phrase: consecutive tokens of one field).
  const std::string_view how = g.kind == GroupKind::kPhrase ? "phrase" : "word";
  std::string_view value;
  for (size_t b = 0; b < DocFields::kBlocks && DocFields::Weight(b) * n > best.weight; ++b) {
    if (f.Find(b, g.tokens, value)) best = {DocFields::Weight(b) * n, DocFields::Kind(b), value, how};
  }
  if (g.kind != GroupKind::kWord || g.typo_terms.empty()) return best;
  // One edit away, at half weight (owners are not searched for typos).
  for (const std::string& typo : g.typo_terms) {
    for (size_t b = 0; b < DocFields::kBlocks && DocFields::Weight(b) / 2 > best.weight; ++b) {
      if (b != DocFields::kOwners && f.Find(b, std::span(&typo, 1), value)) {
        best = {DocFields::Weight(b) / 2, DocFields::Kind(b), value, "typo"};
      }
    }
  }
  return best;
}

bool MentionsAnywhere(const Group& g, DocFields& f) {
  std::string_view value;
  for (size_t b = 0; b < DocFields::kBlocks; ++b) {
    if (f.Find(b, g.tokens, value)) return true;
  }
  return false;
}

// The part of `text` around the first query word, with the byte ranges of every word.
void MakeSnippet(std::string_view text, const std::vector<std::string>& words, SearchHit& hit) {
  constexpr size_t kWidth = 160;
  std::string lower(text.size(), '\0');
  LowerCopy(text, lower.data());
  auto word_at = [&](size_t pos, size_t len) {
    bool left = pos == 0 || !IsAlnum(static_cast<unsigned char>(lower[pos - 1]));
    bool right = pos + len >= lower.size() || !IsLower(static_cast<unsigned char>(lower[pos + len]));
    return left && right;
  };
  size_t first = std::string::npos;
  for (const std::string& w : words) {
    for (size_t p = lower.find(w); p != std::string::npos; p = lower.find(w, p + 1)) {
      if (word_at(p, w.size())) {
        first = std::min(first, p);
        break;
      }
    }
  }
  size_t begin = 0;
  if (first != std::string::npos && first > kWidth / 3) begin = first - kWidth / 3;
  size_t end = std::min(text.size(), begin + kWidth);
  // Stay on UTF-8 character boundaries.
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  hit.snippet = text.substr(begin, end - begin);
  std::string_view window(lower.data() + begin, end - begin);
  for (const std::string& w : words) {
    for (size_t p = window.find(w); p != std::string_view::npos; p = window.find(w, p + 1)) {
      if (word_at(begin + p, w.size())) hit.highlights.emplace_back(p, p + w.size());
    }
  }
  std::sort(hit.highlights.begin(), hit.highlights.end());
  // Merge overlaps so that a renderer can walk them in order.
  std::vector<std::pair<size_t, size_t>> merged;
  for (auto r : hit.highlights) {
    if (!merged.empty() && r.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  hit.highlights = std::move(merged);
}

// Counts of the values of one facet, as views: an open-addressing table (a std::map with a
// node per value, looked up for every candidate, was a twentieth of a search).
class FacetCounter {
 public:
  void Add(std::string_view value) {
    if (2 * (used_ + 1) > slots_.size()) Grow();
    Slot& s = Probe(slots_, value);
    used_ += s.count == 0;
    s.value = value;
    ++s.count;
  }

  // The `n` most frequent values, then by value (bytewise).
  std::vector<FacetCount> Top(size_t n) const {
    std::vector<const Slot*> all;
    all.reserve(used_);
    for (const Slot& s : slots_) {
      if (s.count > 0) all.push_back(&s);
    }
    auto before = [](const Slot* a, const Slot* b) {
      return a->count != b->count ? a->count > b->count : a->value < b->value;
    };
    const size_t keep = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), before);
    std::vector<FacetCount> out;
    out.reserve(keep);
    for (size_t i = 0; i < keep; ++i) out.push_back({std::string(all[i]->value), all[i]->count});
    return out;
  }

 private:
  struct Slot {
    std::string_view value;
    long long count = 0;  // 0: empty
  };

  // The slot holding `value`, or the empty one where it belongs. REQUIRES: a free slot.
  static Slot& Probe(std::vector<Slot>& slots, std::string_view value) {
    const size_t mask = slots.size() - 1;
    for (size_t i = Hash(value) & mask;; i = (i + 1) & mask) {
      if (slots[i].count == 0 || slots[i].value == value) return slots[i];
    }
  }

  // Of the first and last (up to) eight bytes and the length: facet values are short, and
  // std::hash's pass over every byte was most of the cost of counting.
  static size_t Hash(std::string_view v) {
    std::uint64_t head = 0, tail = 0;
    if (v.size() >= 8) {  // fixed-size copies are single loads
      std::memcpy(&head, v.data(), 8);
      std::memcpy(&tail, v.data() + v.size() - 8, 8);
    } else {
      for (char c : v) head = (head << 8) | static_cast<unsigned char>(c);
    }
    std::uint64_t h = head ^ (tail * 0x9E3779B97F4A7C15ULL) ^ v.size();
    h = (h ^ (h >> 33)) * 0xFF51AFD7ED558CCDULL;  // MurmurHash3's finaliser
    h = (h ^ (h >> 33)) * 0xC4CEB9FE1A85EC53ULL;
    return static_cast<size_t>(h ^ (h >> 33));
  }

  void Grow() {
    std::vector<Slot> bigger(slots_.empty() ? 32 : 2 * slots_.size());
    for (const Slot& s : slots_) {
      if (s.count > 0) Probe(bigger, s.value) = s;
    }
    slots_ = std::move(bigger);
  }

  std::vector<Slot> slots_;  // a power of two in size, at most half full
  size_t used_ = 0;
};

enum class ExactMatch : std::uint8_t { kNone, kName, kFullName };

struct Scored {
  const SearchDocView* doc;
  std::int64_t score;
  std::uint32_t first_match;  // its matches: one GroupMatch per positive group from here on
  ExactMatch exact;           // shown before them
};

// The most a document found only through a typo of a word can score for that word: half a
// name match, the largest boost, the whole name-coverage bonus.
constexpr std::int64_t kTypoCeiling = kWName / 2 + 99 + 200;

// `ids` without repeats, each where it first occurs. By sorting (position, id) pairs: a hash
// set allocated a node per candidate, a sixteenth of a search.
std::vector<std::int64_t> FirstOfEach(std::vector<std::int64_t> ids) {
  std::vector<std::pair<std::int64_t, std::uint32_t>> by_id(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) by_id[i] = {ids[i], static_cast<std::uint32_t>(i)};
  std::sort(by_id.begin(), by_id.end());
  std::vector<bool> keep(ids.size(), false);
  for (size_t i = 0; i < by_id.size(); ++i) {
    if (i == 0 || by_id[i].first != by_id[i - 1].first) keep[by_id[i].second] = true;
  }
  size_t n = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (keep[i]) ids[n++] = ids[i];
  }
  ids.resize(n);
  return ids;
}

// Fetches postings of `terms` (union, capped each), noting whether any hit the cap. The
// terms after the first are typos of it: when the word itself filled the cap with postings
// that all outscore any typo match, the typos cannot reach the top and are not read
// (a frequent word such as "orders" would otherwise double the documents read for "order").
Result<std::vector<std::int64_t>> Fetch(SearchReader& reader, const std::vector<std::string>& terms,
                                        size_t cap, bool& capped) {
  std::vector<std::int64_t> ids;
  for (size_t i = 0; i < terms.size(); ++i) {
    TM_ASSIGN_OR_RETURN(std::vector<ScoredId> got, reader.Postings(terms[i], cap));
    if (got.size() >= cap) capped = true;
    for (const ScoredId& p : got) ids.push_back(p.id);
    if (i == 0 && got.size() >= cap && got.back().score >= kTypoCeiling) break;
  }
  return FirstOfEach(std::move(ids));
}

bool PassesFilters(const SearchQuery& q, const SearchDocView& d) {
  auto in = [](std::string_view lines, const std::string& x) {
    bool found = false;
    ForEachLine(lines, [&](std::string_view line) { found = found || line == x; });
    return found;
  };
  return (q.kind.empty() || d.kind == q.kind) && (q.owner.empty() || in(d.owners, q.owner)) &&
         (q.tag.empty() || in(d.tags, q.tag)) && (q.database.empty() || d.database == q.database) &&
         (q.schema.empty() || d.schema == q.schema) && (q.source.empty() || d.source == q.source) &&
         (q.status.empty() || d.status == q.status);
}

}  // namespace

Result<SearchResults> RunSearch(const SearchQuery& query, SearchReader& reader) {
  const bool filtered = !query.kind.empty() || !query.owner.empty() || !query.tag.empty() ||
                        !query.database.empty() || !query.schema.empty() ||
                        !query.source.empty() || !query.status.empty() || !query.health.empty();
  const bool browse =
      filtered && query.text.find_first_not_of(" \t\r\n") == std::string::npos;
  ParsedQuery q;
  q.plain = false;  // browsing: no words, so no exact-name match either
  if (!browse) {
    TM_ASSIGN_OR_RETURN(q, ParseQuery(query.text));
  }
  SearchResults results;
  const size_t limit = std::min(query.limit, kMaxSearchLimit);
  // A filter may keep only candidates far down a frequent word's list: look further.
  const size_t cap = filtered ? kMaxPostingsRead : kSearchCandidateCap;

  // Typo candidates for plain words of 5+ letters.
  for (Group& g : q.groups) {
    if (g.kind != GroupKind::kWord) continue;
    std::vector<std::string> variants = TypoVariants(g.tokens[0]);
    if (variants.empty()) continue;
    TM_ASSIGN_OR_RETURN(std::vector<std::string> terms, reader.TypoTerms(variants));
    for (std::string& t : terms) {
      if (t != g.tokens[0] && EditDistanceAtMost1(t, g.tokens[0]) == 1 &&
          std::find(g.typo_terms.begin(), g.typo_terms.end(), t) == g.typo_terms.end()) {
        g.typo_terms.push_back(std::move(t));
      }
    }
    std::sort(g.typo_terms.begin(), g.typo_terms.end());
  }

  // Candidates: the smallest complete (uncapped) term set drives, or failing that the
  // smallest capped one; every other complete set intersects it.
  struct Retrieved {
    std::vector<std::int64_t> ids;
    bool capped = false;
  };
  std::vector<Retrieved> sets;
  std::vector<std::vector<std::string>> all_retrievals;
  for (const Group& g : q.groups) {
    if (g.kind == GroupKind::kExclude) continue;
    std::vector<std::vector<std::string>> retrievals;  // each must match
    if (g.kind == GroupKind::kPrefix) {
      const std::string& p = g.tokens[0];
      retrievals.push_back({p.size() < 2 ? "~" + p : "^" + p.substr(0, kPrefixChars)});
    } else if (g.kind == GroupKind::kPhrase) {
      for (const auto& t : g.tokens) retrievals.push_back({t});
    } else {
      std::vector<std::string> terms = {g.tokens[0]};
      terms.insert(terms.end(), g.typo_terms.begin(), g.typo_terms.end());
      retrievals.push_back(std::move(terms));
    }
    for (auto& terms : retrievals) all_retrievals.push_back(std::move(terms));
  }
  // Likely-rare terms first (those with digits, then longer ones): once a complete set is
  // small, the other words are checked on its documents instead of read from the index.
  auto rarity = [](const std::vector<std::string>& terms) {
    const std::string& t = terms[0];
    bool digits = std::any_of(t.begin(), t.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
    return std::make_pair(!digits, -static_cast<long>(t.size()));
  };
  std::stable_sort(all_retrievals.begin(), all_retrievals.end(),
                   [&](const auto& a, const auto& b) { return rarity(a) < rarity(b); });
  for (const auto& terms : all_retrievals) {
    Retrieved r;
    TM_ASSIGN_OR_RETURN(r.ids, Fetch(reader, terms, cap, r.capped));
    const bool small = !r.capped && r.ids.size() <= 100;
    sets.push_back(std::move(r));
    if (small) break;
  }
  if (browse) {
    // No words: the filters pick the candidates, most boosted first. One more than the cap
    // tells whether there were more.
    Retrieved r;
    TM_ASSIGN_OR_RETURN(r.ids, reader.Browse(query, cap + 1));
    r.capped = r.ids.size() > cap;
    if (r.capped) r.ids.resize(cap);
    sets.push_back(std::move(r));
  }
  size_t drive = 0;
  for (size_t i = 1; i < sets.size(); ++i) {
    auto rank = [&](size_t k) { return std::make_pair(sets[k].capped, sets[k].ids.size()); };
    if (rank(i) < rank(drive)) drive = i;
  }
  // Sets are looked up sorted (binary search): hash sets allocated a node per id.
  std::vector<std::vector<std::int64_t>> complete_sets;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (i == drive || sets[i].capped) continue;
    complete_sets.push_back(sets[i].ids);
    std::sort(complete_sets.back().begin(), complete_sets.back().end());
  }
  const std::vector<std::int64_t>& driver = sets[drive].ids;
  const bool driver_capped = sets[drive].capped;
  std::vector<std::int64_t> candidates;
  for (std::int64_t id : driver) {
    bool keep = std::all_of(complete_sets.begin(), complete_sets.end(), [id](const auto& s) {
      return std::binary_search(s.begin(), s.end(), id);
    });
    if (keep) candidates.push_back(id);
  }
  // Exact-name matches join whatever the frequency of their words.
  if (q.plain && !q.plain_tokens.empty()) {
    TM_ASSIGN_OR_RETURN(std::vector<ScoredId> exact,
                        reader.Postings("=" + Join(q.plain_tokens), 100));
    std::vector<std::int64_t> have = candidates;
    std::sort(have.begin(), have.end());
    const size_t before = candidates.size();
    for (const ScoredId& p : exact) {
      if (std::binary_search(have.begin(), have.end(), p.id)) continue;
      if (std::find(candidates.begin() + static_cast<std::ptrdiff_t>(before), candidates.end(), p.id) ==
          candidates.end()) {
        candidates.push_back(p.id);
      }
    }
  }
  results.exact = !driver_capped;

  SearchDocStorage storage;
  TM_ASSIGN_OR_RETURN(std::vector<SearchDocView> docs, reader.DocViews(candidates, storage));
  std::vector<Scored> scored;
  scored.reserve(docs.size());
  const std::string joined = Join(q.plain_tokens);
  const size_t positive = static_cast<size_t>(std::count_if(
      q.groups.begin(), q.groups.end(), [](const Group& g) { return g.kind != GroupKind::kExclude; }));
  std::vector<GroupMatch> matches;  // of every match in `scored`, `positive` each
  matches.reserve(docs.size() * positive);
  DocFields f;
  for (const SearchDocView& d : docs) {
    if (!PassesFilters(query, d)) continue;
    f.Reset(d);
    Scored s{&d, d.boost, static_cast<std::uint32_t>(matches.size()), ExactMatch::kNone};
    bool ok = true;
    for (const Group& g : q.groups) {
      if (g.kind == GroupKind::kExclude) {
        if (MentionsAnywhere(g, f)) ok = false;
        continue;
      }
      const GroupMatch m = MatchGroup(g, f);
      if (m.weight == 0) {
        ok = false;
        break;
      }
      s.score += m.weight;
      matches.push_back(m);
    }
    if (!ok) {
      matches.resize(s.first_match);
      continue;
    }
    if (q.plain && f.TokensJoinedAre(DocFields::kName, joined)) {
      s.score += kExactName;
      s.exact = ExactMatch::kName;
    } else if (q.plain && f.TokensJoinedAre(DocFields::kFullName, joined)) {
      s.score += kExactFullName;
      s.exact = ExactMatch::kFullName;
    }
    if (const auto& name = f.Name(); !name.empty()) {
      size_t hit = 0;
      for (const auto& tok : name) hit += HasToken(q.plain_tokens, tok);
      s.score += static_cast<std::int64_t>(200 * hit / name.size());
    }
    scored.push_back(std::move(s));
  }

  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.doc->name.size() != b.doc->name.size()) return a.doc->name.size() < b.doc->name.size();
    return std::tie(a.doc->ns, a.doc->key_name) < std::tie(b.doc->ns, b.doc->key_name);
  });
  // Health: for every match when it filters, else for the page and the facet's sample.
  std::vector<std::int64_t> health_ids;
  const size_t health_n = query.health.empty()
                              ? std::min(scored.size(), std::max(kHealthFacetCap, query.offset + limit))
                              : scored.size();
  for (size_t i = 0; i < health_n; ++i) health_ids.push_back(scored[i].doc->id);
  TM_ASSIGN_OR_RETURN(auto health, reader.Health(health_ids));
  static const AssetHealth kHealthy;
  auto health_of = [&](std::int64_t id) -> const AssetHealth& {
    auto it = health.find(id);
    return it == health.end() ? kHealthy : it->second;
  };
  if (!query.health.empty()) {
    std::erase_if(scored, [&](const Scored& s) { return HealthLabel(health_of(s.doc->id)) != query.health; });
  }
  results.total = static_cast<long long>(scored.size());

  // Facets over every match, counted under views of the documents' values.
  enum { kKind, kOwner, kTag, kDatabase, kSchema, kSource, kHealth, kFacets };
  FacetCounter counts[kFacets];
  for (const Scored& s : scored) {
    const SearchDocView& d = *s.doc;
    counts[kKind].Add(d.kind);
    ForEachLine(d.owners, [&](std::string_view o) { counts[kOwner].Add(o); });
    ForEachLine(d.tags, [&](std::string_view t) { counts[kTag].Add(t); });
    if (!d.database.empty()) counts[kDatabase].Add(d.database);
    if (!d.schema.empty()) counts[kSchema].Add(d.schema);
    if (!d.source.empty()) counts[kSource].Add(d.source);
  }
  for (size_t i = 0; i < std::min(health_n, scored.size()); ++i) {
    counts[kHealth].Add(HealthLabel(health_of(scored[i].doc->id)));
  }
  constexpr const char* kNames[kFacets] = {"kind",   "owner",  "tag",   "database",
                                           "schema", "source", "health"};
  for (size_t i = 0; i < kFacets; ++i) results.facets.push_back({kNames[i], counts[i].Top(20)});

  std::vector<std::string> highlight_words = q.plain_tokens;
  for (const Group& g : q.groups) {
    highlight_words.insert(highlight_words.end(), g.typo_terms.begin(), g.typo_terms.end());
    if (!g.typo_terms.empty()) {
      results.notes.push_back("'" + g.tokens[0] + "' also matched " + Join(g.typo_terms, ',') +
                              " (one edit)");
    }
  }
  for (size_t i = query.offset; i < scored.size() && results.hits.size() < limit; ++i) {
    const Scored& s = scored[i];
    const SearchDocView& d = *s.doc;
    SearchHit hit;
    hit.key = {std::string(d.ns), std::string(d.key_name)};
    hit.kind = d.kind;
    hit.name = d.name;
    hit.full_name = d.key_name;
    hit.status = d.status;
    hit.source = d.source;
    hit.owners = SplitLines(d.owners);
    hit.tags = SplitLines(d.tags);
    hit.health = health_of(d.id);
    hit.health.key = hit.key;
    hit.downstream = d.downstream;
    hit.exposures = d.exposures;
    hit.score = static_cast<double>(s.score);
    if (s.exact == ExactMatch::kName) hit.matched.push_back({"name", std::string(d.name), "exact"});
    if (s.exact == ExactMatch::kFullName) {
      hit.matched.push_back({"full_name", std::string(d.key_name), "exact"});
    }
    for (size_t k = s.first_match; k < s.first_match + positive; ++k) {
      const GroupMatch& m = matches[k];
      hit.matched.push_back({std::string(m.field), std::string(m.value), std::string(m.how)});
    }
    MakeSnippet(d.description, highlight_words, hit);
    results.hits.push_back(std::move(hit));
  }
  return results;
}

Result<std::vector<Suggestion>> RunSuggest(const SuggestQuery& query, SearchReader& reader) {
  if (query.prefix.size() > kMaxQueryBytes) {
    return Status::InvalidArgument("prefix is longer than " + std::to_string(kMaxQueryBytes) +
                                       " bytes",
                                   "q");
  }
  std::vector<std::string> tokens = Tokenize(query.prefix);
  if (tokens.empty()) return std::vector<Suggestion>{};
  if (tokens.size() > kMaxQueryWords) {
    return Status::InvalidArgument("prefix has too many words", "q");
  }
  const std::string whole = Join(tokens);
  const std::string last = tokens.back();
  tokens.pop_back();
  bool capped = false;
  // Names starting with the prefix first: one index range, best assets first.
  TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids,
                      Fetch(reader, {"~" + whole.substr(0, kNamePrefixChars)},
                            std::max<size_t>(query.limit * 3, 30), capped));
  // Then names with a token starting with the last word, when that is not enough.
  if (ids.size() < query.limit && last.size() >= 2) {
    TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> more,
                        Fetch(reader, {"^" + last.substr(0, kPrefixChars)},
                              kSuggestCandidateCap, capped));
    std::unordered_set<std::int64_t> have(ids.begin(), ids.end());
    for (std::int64_t id : more) {
      if (have.insert(id).second) ids.push_back(id);
    }
  }
  SearchDocStorage storage;
  TM_ASSIGN_OR_RETURN(std::vector<SearchDocView> docs, reader.DocViews(ids, storage));
  struct Cand {
    const SearchDocView* doc;
    std::int64_t score;
  };
  std::vector<Cand> cands;
  std::vector<std::string> name, full;  // reused: Tokenize keeps their strings' buffers
  for (const SearchDocView& d : docs) {
    Tokenize(d.name, name);
    Tokenize(d.key_name, full);
    // Earlier words must be words of the full name; the last one a prefix of a name token.
    bool ok = std::all_of(tokens.begin(), tokens.end(),
                          [&](const std::string& t) { return HasToken(full, t); });
    size_t at = name.size();
    for (size_t i = 0; i < name.size() && ok; ++i) {
      if (name[i].compare(0, last.size(), last) == 0) {
        at = i;
        break;
      }
    }
    const bool starts = JoinedStartsWith(name, whole);
    if (!starts && (!ok || at == name.size())) continue;
    // A name that starts with the prefix before one that merely contains it.
    std::int64_t score = d.boost + (starts ? 2000 : at == 0 ? 1000 : 0) -
                         static_cast<std::int64_t>(d.name.size());
    cands.push_back({&d, score});
  }
  std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    if (a.score != b.score) return a.score > b.score;
    return std::tie(a.doc->ns, a.doc->key_name) < std::tie(b.doc->ns, b.doc->key_name);
  });
  std::vector<Suggestion> out;
  for (const Cand& c : cands) {
    if (out.size() >= std::min<size_t>(query.limit, 50)) break;
    out.push_back({{std::string(c.doc->ns), std::string(c.doc->key_name)},
                   std::string(c.doc->name),
                   std::string(c.doc->kind)});
  }
  return out;
}

// ---- lineage --------------------------------------------------------------------------------

namespace {

struct Walk {
  std::map<std::int64_t, int> distance;                 // asset -> signed hops
  std::map<std::int64_t, std::int64_t> parent;          // asset -> the node it was reached from
  std::set<std::tuple<std::int64_t, std::int64_t, std::string, std::string>> edges;
  bool truncated = false;
  int depth_reached = 0;
};

// Breadth-first walk in one direction, level by level (one query per level), cycle-safe
// through the visited map, stopping at `max_nodes` assets in the walk.
Status WalkOneWay(LineageReader& reader, std::int64_t start, bool upstream, int depth,
                  bool column_level, const std::string& column, size_t max_nodes, Walk& w) {
  // Column level walks (asset, column) states; table level walks assets.
  using State = std::pair<std::int64_t, std::string>;
  std::set<State> seen_states;
  std::vector<State> frontier = {{start, column_level ? column : std::string()}};
  seen_states.insert(frontier[0]);
  for (int level = 1; level <= depth && !frontier.empty(); ++level) {
    std::vector<std::int64_t> ids;
    std::map<std::int64_t, std::vector<std::string>> cols;
    for (const auto& [id, col] : frontier) {
      if (cols.find(id) == cols.end()) ids.push_back(id);
      cols[id].push_back(col);
    }
    TM_ASSIGN_OR_RETURN(std::vector<EdgeRow> rows, reader.Edges(ids, upstream));
    std::sort(rows.begin(), rows.end(), [](const EdgeRow& a, const EdgeRow& b) {
      return std::tie(a.from, a.to, a.from_column, a.to_column) <
             std::tie(b.from, b.to, b.from_column, b.to_column);
    });
    std::vector<State> next;
    for (const EdgeRow& e : rows) {
      const bool column_edge = !e.from_column.empty();
      if (column_level != column_edge) continue;
      if (column_level) {
        const auto& want = cols[e.from];
        bool match = std::any_of(want.begin(), want.end(), [&](const std::string& c) {
          return c.empty() || c == e.from_column;
        });
        if (!match) continue;
      }
      const bool known = w.distance.count(e.to) > 0;
      if (!known && w.distance.size() >= max_nodes) {
        w.truncated = true;
        continue;
      }
      if (!known) {
        w.distance[e.to] = upstream ? -level : level;
        w.parent[e.to] = e.from;
        w.depth_reached = std::max(w.depth_reached, level);
      }
      if (upstream) {
        w.edges.insert({e.to, e.from, e.to_column, e.from_column});
      } else {
        w.edges.insert({e.from, e.to, e.from_column, e.to_column});
      }
      State s{e.to, column_level ? e.to_column : std::string()};
      if (seen_states.insert(s).second) next.push_back(std::move(s));
    }
    frontier = std::move(next);
  }
  return Status::Ok();
}

std::string DirectionName(bool upstream) { return upstream ? "upstream" : "downstream"; }

}  // namespace

Result<std::vector<std::optional<std::int64_t>>> LineageReader::IdsOf(
    const std::vector<model::AssetKey>& keys) {
  std::vector<std::optional<std::int64_t>> out;
  out.reserve(keys.size());
  for (const model::AssetKey& key : keys) {
    auto id = IdOf(key);
    if (!id.ok() && !id.status().IsNotFound()) return id.status();
    out.push_back(id.ok() ? std::optional(*id) : std::nullopt);
  }
  return out;
}

Result<LineageGraph> RunLineage(const LineageQuery& query, LineageReader& reader) {
  if (query.depth < 1 || query.depth > kMaxLineageDepth) {
    return Status::InvalidArgument("depth must be between 1 and " +
                                       std::to_string(kMaxLineageDepth),
                                   "depth");
  }
  const size_t max_nodes = std::clamp<size_t>(query.max_nodes, 1, kMaxLineageNodes);
  TM_ASSIGN_OR_RETURN(std::int64_t start, reader.IdOf(query.key));
  const bool column_level = query.level == LineageLevel::kColumn;
  Walk w;
  w.distance[start] = 0;
  for (bool upstream : {true, false}) {
    if (upstream && query.direction == LineageDirection::kDownstream) continue;
    if (!upstream && query.direction == LineageDirection::kUpstream) continue;
    Status st = WalkOneWay(reader, start, upstream, query.depth, column_level, query.column,
                           max_nodes, w);
    if (!st.ok()) return st.WithContext("walk " + DirectionName(upstream));
  }
  std::vector<std::int64_t> ids;
  for (const auto& [id, dist] : w.distance) ids.push_back(id);
  TM_ASSIGN_OR_RETURN(std::vector<NodeRow> rows, reader.Nodes(ids));
  TM_ASSIGN_OR_RETURN(auto health, reader.Health(ids));
  std::map<std::int64_t, const NodeRow*> by_id;
  for (const NodeRow& r : rows) by_id[r.id] = &r;
  LineageGraph g;
  g.truncated = w.truncated;
  g.depth_reached = w.depth_reached;
  for (const auto& [id, dist] : w.distance) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    LineageNode n;
    n.key = it->second->key;
    n.kind = it->second->kind;
    n.name = it->second->name;
    n.status = it->second->status;
    n.owners = it->second->owners;
    n.distance = dist;
    if (auto h = health.find(id); h != health.end()) n.health = h->second;
    n.health.key = n.key;
    g.nodes.push_back(std::move(n));
  }
  std::sort(g.nodes.begin(), g.nodes.end(), [](const LineageNode& a, const LineageNode& b) {
    auto rank = [](int d) { return std::make_pair(d == 0 ? 0 : 1, std::abs(d)); };
    if (rank(a.distance) != rank(b.distance)) return rank(a.distance) < rank(b.distance);
    return a.key < b.key;
  });
  for (const auto& [up, down, up_col, down_col] : w.edges) {
    auto u = by_id.find(up), d = by_id.find(down);
    if (u == by_id.end() || d == by_id.end()) continue;
    g.edges.push_back({u->second->key, d->second->key, up_col, down_col});
  }
  std::sort(g.edges.begin(), g.edges.end(), [](const LineageGraphEdge& a, const LineageGraphEdge& b) {
    return std::tie(a.upstream, a.downstream, a.upstream_column, a.downstream_column) <
           std::tie(b.upstream, b.downstream, b.upstream_column, b.downstream_column);
  });
  return g;
}

Result<std::vector<OwnedAsset>> OwnedAssetsOf(
    LineageReader& reader, const std::vector<std::pair<std::int64_t, std::string>>& owned) {
  std::vector<std::int64_t> ids;
  for (const auto& [id, role] : owned) ids.push_back(id);
  TM_ASSIGN_OR_RETURN(std::vector<NodeRow> rows, reader.Nodes(ids));
  TM_ASSIGN_OR_RETURN(auto health, reader.Health(ids));
  std::map<std::int64_t, const NodeRow*> by_id;
  for (const NodeRow& r : rows) by_id[r.id] = &r;
  std::vector<OwnedAsset> out;
  for (const auto& [id, role] : owned) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    OwnedAsset a{it->second->key, it->second->kind, it->second->name, role, it->second->status, {}};
    if (auto h = health.find(id); h != health.end()) a.health = h->second;
    a.health.key = a.key;
    out.push_back(std::move(a));
  }
  return out;
}

Result<ImpactReport> RunImpact(const model::AssetKey& key, size_t max_nodes,
                               LineageReader& reader) {
  TM_ASSIGN_OR_RETURN(std::int64_t start, reader.IdOf(key));
  Walk w;
  w.distance[start] = 0;
  TM_RETURN_IF_ERROR(WalkOneWay(reader, start, /*upstream=*/false, kMaxLineageDepth,
                                /*column_level=*/false, "",
                                std::clamp<size_t>(max_nodes, 1, kMaxLineageNodes), w));
  std::vector<std::int64_t> ids;
  for (const auto& [id, dist] : w.distance) ids.push_back(id);
  TM_ASSIGN_OR_RETURN(std::vector<NodeRow> rows, reader.Nodes(ids));
  std::map<std::int64_t, const NodeRow*> by_id;
  for (const NodeRow& r : rows) by_id[r.id] = &r;
  ImpactReport report;
  report.key = key;
  report.truncated = w.truncated;
  std::set<std::string> owners;
  for (const auto& [id, dist] : w.distance) {
    if (id == start) continue;
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    ImpactedAsset a;
    a.key = it->second->key;
    a.kind = it->second->kind;
    a.name = it->second->name;
    a.distance = dist;
    a.owners = it->second->owners;
    owners.insert(a.owners.begin(), a.owners.end());
    // The path back to the start through the parents the walk recorded (each node once).
    std::vector<model::AssetKey> path;
    for (std::int64_t at = id; at != start && path.size() <= kMaxLineageNodes;) {
      auto n = by_id.find(at);
      if (n == by_id.end()) break;
      path.push_back(n->second->key);
      auto p = w.parent.find(at);
      if (p == w.parent.end()) break;
      at = p->second;
    }
    std::reverse(path.begin(), path.end());
    a.path = std::move(path);
    report.downstream.push_back(std::move(a));
  }
  std::sort(report.downstream.begin(), report.downstream.end(),
            [](const ImpactedAsset& a, const ImpactedAsset& b) {
              return std::tie(a.distance, a.key) < std::tie(b.distance, b.key);
            });
  for (const ImpactedAsset& a : report.downstream) {
    if (a.kind == "exposure") report.exposures.push_back(a);
  }
  report.owners.assign(owners.begin(), owners.end());
  return report;
}

}  // namespace tidemark::catalog
