#pragma once

// The files of ui/web/, embedded at build time by cmake/EmbedFiles.cmake (the generated
// web_files.cc). Paths are relative to ui/web/ ("app.js", "index.html"), sorted.

#include <cstddef>

namespace tidemark::ui {

struct EmbeddedFile {
  const char* path;
  const unsigned char* data;
  size_t size;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

}  // namespace tidemark::ui
