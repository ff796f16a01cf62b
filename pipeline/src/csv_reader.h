#pragma once

// A small RFC 4180 reader: comma-separated fields, double-quoted fields with "" for a quote
// and embedded commas or newlines, LF or CRLF records, an optional UTF-8 byte order mark.

#include <istream>
#include <string>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::pipeline {

class CsvReader {
 public:
  // `in` must outlive the reader.
  explicit CsvReader(std::istream& in) : in_(in) {}

  // Reads the next record into `fields`. False at the end of input (fields empty) or on a
  // malformed record (`error` set, its message the reason; see line()).
  bool Next(std::vector<std::string>& fields, model::Status& error);

  // 1-based line where the last record read (or failed) started.
  int line() const { return record_line_; }

 private:
  std::istream& in_;
  int line_ = 1;
  int record_line_ = 0;
  bool started_ = false;
};

}  // namespace tidemark::pipeline
