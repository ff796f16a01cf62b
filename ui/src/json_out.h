#pragma once

// JsonOut: writes JSON text straight into a string, for the responses large and frequent
// enough that building an nlohmann DOM first costs more than the work behind them (a search
// page of 25 hits was a quarter of its request's instructions as a DOM, 1-2% written directly).
//
// The bytes are those nlohmann's dump(-1, ' ', false, error_handler_t::replace) writes for the
// same values (tests/ui/json_out_test.cc compares them), so replacing a DOM changes no
// response: compact, non-ASCII UTF-8 kept as is, control characters as \b \t \n \f \r or
// \u00xx, invalid UTF-8 replaced by U+FFFD, doubles in their shortest round-trip form with
// ".0" on whole numbers. The caller places the commas: Key() and Sep() write them.
//
// Not thread-safe; borrows `out`, which must outlive the writer.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::ui {

class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}

  // `"name":`, preceded by a comma unless `first`.
  JsonOut& Key(std::string_view name, bool first = false) {
    if (!first) out_ += ',';
    String(name);
    out_ += ':';
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
    // Plain ASCII (the common case) is copied in runs between the bytes JSON escapes; any
    // other byte sends the whole string through the escaping loop below.
    const size_t start = out_.size();
    out_ += '"';
    size_t run = 0;
    bool checked = false;  // the rest of `s` is known to be valid UTF-8
    for (size_t i = 0; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) continue;
      if (c >= 0x80) {
        if (!checked && !ValidUtf8(s.substr(i))) return Fallback(s, start);
        checked = true;
        continue;  // valid multi-byte characters are copied as they are
      }
      out_.append(s.data() + run, i - run);
      run = i + 1;
      Escape(c);
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

}  // namespace tidemark::ui
