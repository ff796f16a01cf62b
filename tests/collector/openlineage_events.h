#pragma once

// Small OpenLineage RunEvents for the writer and projector tests: run i of job_{i % 7}
// (namespace "airflow"), reading a.b.in_{i % 5} and writing a.b.out_{i % 3} on one
// PostgreSQL warehouse.

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace tidemark::testing {

// Run i's runId, a UUID.
inline std::string OpenLineageRunId(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
  return id;
}

inline std::string OpenLineageRunEvent(int i, const std::string& type = "COMPLETE",
                                       const std::string& time = "2024-03-01T00:00:00Z") {
  const auto dataset = [](std::string name) {
    return nlohmann::json::array({{{"namespace", "postgres://db:5432"}, {"name", name}}});
  };
  nlohmann::json e = {
      {"eventType", type},
      {"eventTime", time},
      {"run", {{"runId", OpenLineageRunId(i)}}},
      {"job", {{"namespace", "airflow"}, {"name", "job_" + std::to_string(i % 7)}}},
      {"inputs", dataset("a.b.in_" + std::to_string(i % 5))},
      {"outputs", dataset("a.b.out_" + std::to_string(i % 3))}};
  return e.dump();
}

}  // namespace tidemark::testing
