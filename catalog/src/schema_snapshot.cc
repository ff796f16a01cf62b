#include "tidemark/model/schema_snapshot.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace tidemark::model {

std::string SchemaSnapshot::Fingerprint() const {
  // FNV-1a over position-ordered (name, type, nullability): cheap, stable across builds and
  // machines, and only ever compared for equality with the same asset's previous snapshot.
  std::vector<const Column*> ordered;
  ordered.reserve(columns.size());
  for (const Column& c : columns) ordered.push_back(&c);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Column* a, const Column* b) {
    return a->position != b->position ? a->position < b->position : a->name < b->name;
  });
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // field separator, so ("ab","c") and ("a","bc") differ
    h *= 1099511628211ULL;
  };
  for (const Column* c : ordered) {
    mix(c->name);
    mix(c->data_type);
    mix(!c->nullable ? "?" : (*c->nullable ? "null" : "not null"));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace tidemark::model
