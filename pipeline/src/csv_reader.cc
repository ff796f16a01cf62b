#include "csv_reader.h"

namespace tidemark::pipeline {

bool CsvReader::Next(std::vector<std::string>& fields, model::Status& error) {
  fields.clear();
  if (!started_) {
    started_ = true;
    // A byte order mark some spreadsheet exports put first.
    if (in_.peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (!(in_.gcount() == 3 && static_cast<unsigned char>(bom[1]) == 0xBB &&
            static_cast<unsigned char>(bom[2]) == 0xBF)) {
        in_.clear();
        in_.seekg(0);
      }
    }
  }
  record_line_ = line_;
  int c = in_.get();
  if (c == EOF) return false;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field started with a quote
  for (;; c = in_.get()) {
    if (quoted) {
      if (c == EOF) {
        error = model::Status::InvalidArgument("unterminated quoted field");
        return false;
      }
      if (c == '"') {
        if (in_.peek() == '"') {
          in_.get();
          field.push_back('"');
        } else {
          quoted = false;
        }
        continue;
      }
      if (c == '\n') ++line_;
      field.push_back(static_cast<char>(c));
      continue;
    }
    if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      continue;
    }
    if (c == '\r' && in_.peek() == '\n') continue;  // CRLF
    if (c == '\n' || c == EOF) {
      if (c == '\n') ++line_;
      fields.push_back(std::move(field));
      return true;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) {
        error = model::Status::InvalidArgument("quote inside an unquoted field");
        return false;
      }
      quoted = was_quoted = true;
      continue;
    }
    if (was_quoted) {
      error = model::Status::InvalidArgument("text after a closing quote");
      return false;
    }
    field.push_back(static_cast<char>(c));
  }
}

}  // namespace tidemark::pipeline
