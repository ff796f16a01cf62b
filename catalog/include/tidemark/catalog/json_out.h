#pragma once

// JsonOut: writes JSON text straight into a string, for the text large and frequent enough
// that building an nlohmann DOM first costs more than the work behind it: search responses (a
// page of 25 hits was a quarter of its request's instructions as a DOM, 1-2% written directly)
// and the columns of every schema snapshot the stores write (columns_json.h).
//
// The bytes are those nlohmann's dump(-1, ' ', false, error_handler_t::replace) writes for the
// same values (tests/catalog/json_out_test.cc compares them), so replacing a DOM changes no
// response: compact, non-ASCII UTF-8 kept as is, control characters as \b \t \n \f \r or
// \u00xx, invalid UTF-8 replaced by U+FFFD, doubles in their shortest round-trip form with
// ".0" on whole numbers. The caller places the commas: Key() and Sep() write them.
//
// Not thread-safe; borrows `out`, which must outlive the writer.

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::catalog {

class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}

  // `"name":`, preceded by a comma unless `first`. REQUIRES: `name` needs no escaping (the
  // callers' names are identifiers): a response has hundreds of keys, and escaping them was
  // most of JsonOut's calls.
  JsonOut& Key(std::string_view name, bool first = false) {
    char buf[64];  // one append: four appends cost more than the name
    if (name.size() + 4 > sizeof buf) {
      if (!first) out_ += ',';
      out_.append("\"").append(name).append("\":");
      return *this;
    }
    size_t n = 0;
    if (!first) buf[n++] = ',';
    buf[n++] = '"';
    if (!name.empty()) std::memcpy(buf + n, name.data(), name.size());
    n += name.size();
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
    return *this;
  }
  JsonOut& Sep() {
    out_ += ',';
    return *this;
  }
  JsonOut& Raw(std::string_view text) {
    out_ += text;
    return *this;
  }

  JsonOut& String(std::string_view s) {
    // Copied in runs between the bytes JSON escapes. The first byte above 0x7F has the rest
    // of the string checked for valid UTF-8 once (valid multi-byte characters are copied as
    // they are); invalid UTF-8 falls back to nlohmann. Eight bytes are tested at a time:
    // a search response is mostly plain ASCII, and testing each byte was a fourteenth of
    // the request.
    const size_t start = out_.size();
    out_ += '"';
    size_t run = 0;
    bool checked = false;  // the rest of `s` is known to be valid UTF-8
    for (size_t i = 0; i < s.size();) {
      if constexpr (std::endian::native == std::endian::little) {
        // The last bytes are tested padded with plain ones: most strings are short.
        char tail[8];
        const char* p = s.data() + i;
        if (i + 8 > s.size()) {
          std::memset(tail, 'a', sizeof tail);
          std::memcpy(tail, p, s.size() - i);
          p = tail;
        }
        const std::uint64_t special = Special(p, checked);
        if (special == 0) {
          i += 8;  // may pass the end: the loop ends
          continue;
        }
        i += static_cast<size_t>(std::countr_zero(special)) / 8;
      }
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        if (!checked && !ValidUtf8(s.substr(i))) return Fallback(s, start);
        checked = true;
        ++i;
        continue;
      }
      if (c >= 0x20 && c != '"' && c != '\\') {
        ++i;
        continue;
      }
      out_.append(s.data() + run, i - run);
      run = i + 1;
      Escape(c);
      ++i;
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
    return *this;
  }

  JsonOut& Int(std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<size_t>(end - buf));
    return *this;
  }
  JsonOut& UInt(std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<size_t>(end - buf));
    return *this;
  }
  JsonOut& Double(double v) {
    // Whole numbers well inside the exact range print as nlohmann prints them ("1132.0");
    // anything else goes through nlohmann itself.
    if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 1e15 && !(v == 0 && std::signbit(v))) {
      Int(static_cast<std::int64_t>(v));
      out_ += ".0";
      return *this;
    }
    out_ += nlohmann::json(v).dump();
    return *this;
  }
  JsonOut& Bool(bool v) {
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonOut& Null() {
    out_ += "null";
    return *this;
  }
  // ["a","b"]
  JsonOut& Strings(const std::vector<std::string>& items) {
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_ += ',';
      String(items[i]);
    }
    out_ += ']';
    return *this;
  }

 private:
  // A mask whose lowest set bit is in the first of the 8 bytes at `p` that String must look
  // at (a control character, '"', '\\', or, unless `utf8_checked`, a byte above 0x7F); 0 if
  // none. Other bits may be false positives (borrows), never below the first true one.
  static std::uint64_t Special(const char* p, bool utf8_checked) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    auto zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
    const std::uint64_t control = (w - kOnes * 0x20) & ~w & kHighs;
    const std::uint64_t quote = zero_byte(w ^ (kOnes * '"'));
    const std::uint64_t backslash = zero_byte(w ^ (kOnes * '\\'));
    return control | quote | backslash | (utf8_checked ? 0 : w & kHighs);
  }

  void Escape(unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '\\';
    switch (c) {
      case '"': out_ += '"'; return;
      case '\\': out_ += '\\'; return;
      case 0x08: out_ += 'b'; return;
      case 0x09: out_ += 't'; return;
      case 0x0A: out_ += 'n'; return;
      case 0x0C: out_ += 'f'; return;
      case 0x0D: out_ += 'r'; return;
      default:
        out_ += "u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 15];
    }
  }

  // Whether the multi-byte UTF-8 character at the start of `s` and everything after it is
  // well-formed (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
  static bool ValidUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        continue;
      }
      size_t n;
      unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
      if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
      } else {
        return false;
      }
      if (i + n > s.size()) return false;
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if (c1 < lo || c1 > hi) return false;
      for (size_t k = 2; k < n; ++k) {
        const unsigned char ck = static_cast<unsigned char>(s[i + k]);
        if (ck < 0x80 || ck > 0xBF) return false;
      }
      i += n;
    }
    return true;
  }

  // A string with invalid UTF-8: nlohmann's own replacement rules, from `start` (where the
  // string's opening quote was written) on.
  JsonOut& Fallback(std::string_view s, size_t start) {
    out_.resize(start);
    out_ += nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace);
    return *this;
  }

  std::string& out_;
};

}  // namespace tidemark::catalog
