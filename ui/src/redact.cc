#include "tidemark/ui/redact.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "ascii.h"

namespace tidemark::ui {
namespace {

constexpr std::string_view kMask = "***";

// Where a URL (or a bare value) stops in running text.
bool EndsUrl(char c) { return IsAsciiSpace(c) || std::strchr("\"'<>`", c) != nullptr; }

bool EndsValue(char c) { return IsAsciiSpace(c) || std::strchr("&;,#\"')}]", c) != nullptr; }

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsAsciiDigit(c) || c == '_' ||
         c == '-' || c == '.';
}

// Whether a key of that name (lower-cased) holds a secret. "key" and "code" are too common as
// ordinary words to hide everywhere; they are hidden as URL query parameters only, where they
// are OAuth codes and API keys.
bool IsSecretName(std::string_view name, bool in_query) {
  static constexpr std::string_view kNames[] = {
      "password",     "passwd",        "pwd",      "token",         "secret",
      "sig",          "signature",     "api_key",  "apikey",        "api-key",
      "access_token", "refresh_token", "id_token", "client_secret", "private_key"};
  static constexpr std::string_view kSuffixes[] = {
      "_token", "-token", "_secret", "-secret", "_password", "-password", "_api_key", "-api-key"};
  if (std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames)) return true;
  for (std::string_view suffix : kSuffixes) {
    if (name.ends_with(suffix)) return true;
  }
  return in_query && (name == "key" || name == "code");
}

bool IsWebhookHost(std::string_view host) {
  return host == "hooks.slack.com" || host.ends_with(".webhook.office.com") ||
         host.ends_with(".logic.azure.com");
}

size_t FindIgnoreCase(std::string_view text, std::string_view needle, size_t from) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= text.size(); ++i) {
    if (EqualsIgnoreCase(text.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

// Replaces text[begin, end) with the mask; returns the index just past the mask.
size_t Mask(std::string& text, size_t begin, size_t end) {
  text.replace(begin, end - begin, kMask);
  return begin + kMask.size();
}

// scheme://user:password@host/path: the password goes, and for chat webhooks, whose path is
// the credential, everything after the host.
void RedactUrls(std::string& text) {
  for (size_t sep = text.find("://"); sep != std::string::npos; sep = text.find("://", sep + 1)) {
    const size_t authority = sep + 3;
    auto authority_end = [&] {
      size_t end = authority;
      while (end < text.size() && !EndsUrl(text[end]) && std::strchr("/?#", text[end]) == nullptr) {
        ++end;
      }
      return end;
    };
    size_t end = authority_end();
    size_t host = authority;
    std::string_view userinfo_and_host(text.data() + authority, end - authority);
    size_t at = userinfo_and_host.rfind('@');
    if (at != std::string_view::npos) {
      size_t colon = userinfo_and_host.find(':');
      if (colon != std::string_view::npos && colon < at) {
        Mask(text, authority + colon + 1, authority + at);
        end = authority_end();
        at = colon + 1 + kMask.size();
      }
      host = authority + at + 1;
    }
    std::string_view host_port(text.data() + host, end - host);
    if (IsWebhookHost(AsciiLower(host_port.substr(0, host_port.find(':'))))) {
      size_t url_end = end;
      while (url_end < text.size() && !EndsUrl(text[url_end])) ++url_end;
      if (url_end > end) text.replace(end, url_end - end, "/***");
    }
    sep = end;
  }
}

// "Bearer <token>" anywhere, whatever precedes it.
void RedactBearerTokens(std::string& text) {
  for (size_t pos = FindIgnoreCase(text, "bearer", 0); pos != std::string::npos;
       pos = FindIgnoreCase(text, "bearer", pos + 1)) {
    if (pos > 0 && IsKeyChar(text[pos - 1])) continue;
    size_t begin = pos + 6;
    if (begin >= text.size() || text[begin] != ' ') continue;
    while (begin < text.size() && text[begin] == ' ') ++begin;
    size_t end = begin;
    while (end < text.size() && !EndsValue(text[end])) ++end;
    if (end > begin) pos = Mask(text, begin, end) - 1;
  }
}

struct Key {
  std::string name;  // lower-cased
  bool in_query = false;
};

// The key written just before the separator at `sep` ("password" in `password=`, `"token": `,
// `&sig=`), or nullopt when none is there or it is glued to a longer word.
std::optional<Key> KeyBefore(const std::string& text, size_t sep) {
  size_t end = sep;
  while (end > 0 && text[end - 1] == ' ') --end;
  char quote = 0;
  if (end > 0 && (text[end - 1] == '"' || text[end - 1] == '\'')) quote = text[--end];
  size_t begin = end;
  while (begin > 0 && IsKeyChar(text[begin - 1])) --begin;
  if (begin == end) return std::nullopt;
  if (quote != 0) {
    if (begin == 0 || text[begin - 1] != quote) return std::nullopt;
    --begin;
  }
  char before = begin == 0 ? ' ' : text[begin - 1];
  if (!IsAsciiSpace(before) && std::strchr("?&;,{([\"'", before) == nullptr) return std::nullopt;
  std::string_view name(text.data() + begin + (quote ? 1 : 0), end - begin - (quote ? 1 : 0));
  return Key{AsciiLower(name), before == '?' || before == '&'};
}

// The value starting at `pos` (after optional spaces): the inside of a quoted string, or a run
// up to a delimiter. For an Authorization value the rest of the line, less its scheme word.
std::pair<size_t, size_t> ValueAt(const std::string& text, size_t pos, bool authorization) {
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
    size_t close = text.find(text[pos], pos + 1);
    if (close == std::string::npos) close = text.size();
    ++pos;
    if (!authorization) return {pos, close};
    size_t space = text.find(' ', pos);
    return {space < close ? space + 1 : pos, close};
  }
  size_t end = pos;
  if (authorization) {
    end = std::min(text.find_first_of("\r\n", pos), text.size());
    size_t space = text.find(' ', pos);
    if (space < end) pos = space + 1;
    return {pos, end};
  }
  while (end < text.size() && !EndsValue(text[end])) ++end;
  return {pos, end};
}

// key=value and key: value pairs whose key names a secret: DSN keywords, query parameters,
// JSON members, HTTP headers.
void RedactKeyValues(std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=' && text[i] != ':') continue;
    if (text[i] == ':' && text.compare(i, 3, "://") == 0) continue;  // a URL, not a pair
    std::optional<Key> key = KeyBefore(text, i);
    if (!key) continue;
    bool authorization = key->name == "authorization" || key->name == "proxy-authorization";
    if (!authorization && !IsSecretName(key->name, key->in_query)) continue;
    auto [begin, end] = ValueAt(text, i + 1, authorization);
    if (end > begin) i = Mask(text, begin, end) - 1;
  }
}

}  // namespace

std::string RedactSecrets(std::string_view text) {
  std::string out(text);
  RedactUrls(out);
  RedactKeyValues(out);
  RedactBearerTokens(out);
  return out;
}

}  // namespace tidemark::ui
