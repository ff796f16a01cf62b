#include "multipart.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "ascii.h"

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

constexpr std::string_view kCrlf = "\r\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The parameters of a header value such as `form-data; name="manifest"; filename="m.json"`,
// in order. Quoted values may hold ';' and backslash-escaped characters.
std::vector<std::pair<std::string, std::string>> HeaderParams(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t i = value.find(';');
  while (i < value.size()) {
    ++i;  // past ';'
    size_t name_end = value.find_first_of("=;", i);
    std::string name(Trim(value.substr(i, name_end - i)));
    std::string parsed;
    i = name_end;
    if (i < value.size() && value[i] == '=') {
      ++i;
      while (i < value.size() && value[i] == ' ') ++i;
      if (i < value.size() && value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          parsed += value[i];
        }
        ++i;  // past the closing quote
      } else {
        size_t end = std::min(value.find(';', i), value.size());
        parsed = std::string(Trim(value.substr(i, end - i)));
        i = end;
      }
    }
    params.emplace_back(AsciiLower(name), std::move(parsed));
    i = std::min(value.find(';', std::min(i, value.size())), value.size());
  }
  return params;
}

std::optional<std::string> HeaderParam(std::string_view value, std::string_view key) {
  for (auto& [name, v] : HeaderParams(value)) {
    if (name == key) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (!EqualsIgnoreCase(type, "multipart/form-data")) return std::nullopt;
  auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  return boundary;
}

Result<std::vector<FormPart>> ParseMultipart(std::string_view body, std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return Status::InvalidArgument("multipart body has no boundary line", "body");
  }
  std::vector<FormPart> parts;
  pos += delimiter.size();
  while (true) {
    const std::string where = "body part " + std::to_string(parts.size() + 1);
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != kCrlf) {
      return Status::InvalidArgument("boundary line not followed by CRLF", where);
    }
    pos += 2;
    FormPart part;
    // Header fields until an empty line.
    while (true) {
      size_t eol = body.find(kCrlf, pos);
      if (eol == std::string_view::npos) {
        return Status::InvalidArgument("part headers end before the body", where);
      }
      std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Status::InvalidArgument("malformed part header line", where);
      }
      std::string_view field = Trim(line.substr(0, colon));
      std::string_view value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(field, "Content-Disposition")) {
        part.name = HeaderParam(value, "name").value_or("");
        part.filename = HeaderParam(value, "filename").value_or("");
      } else if (EqualsIgnoreCase(field, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (part.name.empty()) {
      return Status::InvalidArgument("part has no Content-Disposition name", where);
    }
    size_t end = body.find("\r\n" + delimiter, pos);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("body ends before the closing boundary",
                                     where + " (" + part.name + ")");
    }
    part.body = std::string(body.substr(pos, end - pos));
    parts.push_back(std::move(part));
    pos = end + 2 + delimiter.size();
  }
}

}  // namespace tidemark::ui
