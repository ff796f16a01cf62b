#pragma once

// multipart/form-data bodies (RFC 7578), as `curl -F manifest=@target/manifest.json` sends
// them: the parts' names, file names and contents, with no copy of the content beyond one
// string per part.

#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::ui {

struct FormPart {
  std::string name;      // the form field name from Content-Disposition
  std::string filename;  // empty when the part is not a file
  std::string content_type;
  std::string body;
};

// The boundary parameter of a multipart/form-data Content-Type, or nullopt when the type is
// something else or has no boundary.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts. InvalidArgument naming the part (by index and name) when the
// body does not follow the format: a missing boundary line, a part without
// Content-Disposition or name, or a body that ends before the closing boundary.
model::Result<std::vector<FormPart>> ParseMultipart(std::string_view body,
                                                    std::string_view boundary);

}  // namespace tidemark::ui
