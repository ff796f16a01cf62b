#pragma once

// The JSON an OpenLineage event is read from, seen the same way whichever parser read it:
// simdjson's DOM (the usual case: no allocation per value) or nlohmann's (the fallback for
// text simdjson refuses, so those events get nlohmann's exact verdict and error message).
// EventMapper (openlineage_map.cc) is written once against these functions.
//
// A value is a handle: `const nlohmann::json*` (never null) or `simdjson::dom::element`.
// Objects read as nlohmann reads them: a repeated key means its last value, members are
// visited in key order (std::map's), so both parsers give the same mapping and the same
// first error.

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace tidemark::collector::openlineage::json_view {

using NValue = const nlohmann::json*;
using SValue = simdjson::dom::element;

// ---- nlohmann ----------------------------------------------------------------------------
inline bool IsObject(NValue v) { return v->is_object(); }
inline bool IsArray(NValue v) { return v->is_array(); }
inline bool IsString(NValue v) { return v->is_string(); }
inline bool IsNumber(NValue v) { return v->is_number(); }
inline bool IsBool(NValue v) { return v->is_boolean(); }
inline std::string_view Str(NValue v) { return v->get_ref<const std::string&>(); }
inline double Num(NValue v) { return v->get<double>(); }
inline bool Bool(NValue v) { return v->get<bool>(); }
// obj[name] when obj is an object holding it and it is not null.
inline std::optional<NValue> Member(NValue obj, std::string_view name) {
  if (!obj->is_object()) return std::nullopt;
  auto it = obj->find(name);
  if (it == obj->end() || it->is_null()) return std::nullopt;
  return &*it;
}
// Member(obj, names[i]) for each i.
template <size_t N>
std::array<std::optional<NValue>, N> Members(NValue obj, const std::array<std::string_view, N>& names) {
  std::array<std::optional<NValue>, N> out;
  for (size_t i = 0; i < N; ++i) out[i] = Member(obj, names[i]);
  return out;
}
inline std::vector<NValue> Elements(NValue arr) {
  std::vector<NValue> out;
  out.reserve(arr->size());
  for (const nlohmann::json& e : *arr) out.push_back(&e);
  return out;
}
inline std::vector<std::pair<std::string_view, NValue>> Items(NValue obj) {
  std::vector<std::pair<std::string_view, NValue>> out;
  out.reserve(obj->size());
  for (const auto& [k, v] : obj->items()) out.emplace_back(k, &v);
  return out;
}
inline nlohmann::json ToJson(NValue v) { return *v; }

// ---- simdjson ----------------------------------------------------------------------------
// Each caller has checked the type first, so these reads cannot fail.
template <class T>
T As(SValue v) {
  T out{};
  if (v.get(out) != simdjson::SUCCESS) return T{};
  return out;
}
inline bool IsObject(SValue v) { return v.is_object(); }
inline bool IsArray(SValue v) { return v.is_array(); }
inline bool IsString(SValue v) { return v.is_string(); }
inline bool IsNumber(SValue v) { return v.is_number(); }
inline bool IsBool(SValue v) { return v.is_bool(); }
inline std::string_view Str(SValue v) { return As<std::string_view>(v); }
inline double Num(SValue v) {
  if (v.is_int64()) return static_cast<double>(As<std::int64_t>(v));
  if (v.is_uint64()) return static_cast<double>(As<std::uint64_t>(v));
  return As<double>(v);
}
inline bool Bool(SValue v) { return As<bool>(v); }
inline std::optional<SValue> Member(SValue obj, std::string_view name) {
  if (!obj.is_object()) return std::nullopt;
  std::optional<SValue> found;
  for (auto field : As<simdjson::dom::object>(obj)) {
    if (field.key == name) found = field.value;  // the last one, as nlohmann keeps
  }
  if (found && found->is_null()) return std::nullopt;
  return found;
}
// Member(obj, names[i]) for each i, in one pass over the object: for the small objects read
// many times over, such as a schema's fields.
template <size_t N>
std::array<std::optional<SValue>, N> Members(SValue obj, const std::array<std::string_view, N>& names) {
  std::array<std::optional<SValue>, N> out;
  if (!obj.is_object()) return out;
  for (auto field : As<simdjson::dom::object>(obj)) {
    for (size_t i = 0; i < N; ++i) {
      if (field.key == names[i]) {
        out[i] = field.value;  // the last one, as nlohmann keeps
        break;
      }
    }
  }
  for (auto& found : out) {
    if (found && found->is_null()) found.reset();
  }
  return out;
}
inline std::vector<SValue> Elements(SValue arr) {
  std::vector<SValue> out;
  for (SValue e : As<simdjson::dom::array>(arr)) out.push_back(e);
  return out;
}
inline std::vector<std::pair<std::string_view, SValue>> Items(SValue obj) {
  std::vector<std::pair<std::string_view, SValue>> out;
  for (auto field : As<simdjson::dom::object>(obj)) out.emplace_back(field.key, field.value);
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Of a repeated key, the last (stable sort kept document order among equals).
  auto last = std::unique(out.rbegin(), out.rend(),
                          [](const auto& a, const auto& b) { return a.first == b.first; });
  out.erase(out.begin(), last.base());
  return out;
}
// As nlohmann's parser would have built it: a non-negative integer is unsigned.
inline nlohmann::json ToJson(SValue v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      for (auto field : As<simdjson::dom::object>(v)) {
        out[std::string(field.key)] = ToJson(field.value);
      }
      return out;
    }
    case element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      for (SValue e : As<simdjson::dom::array>(v)) out.push_back(ToJson(e));
      return out;
    }
    case element_type::STRING:
      return std::string(Str(v));
    case element_type::INT64: {
      const std::int64_t i = As<std::int64_t>(v);
      if (i >= 0) return static_cast<std::uint64_t>(i);
      return i;
    }
    case element_type::UINT64:
      return As<std::uint64_t>(v);
    case element_type::DOUBLE:
      return As<double>(v);
    case element_type::BOOL:
      return As<bool>(v);
    case element_type::NULL_VALUE:
      break;
  }
  return nullptr;
}

}  // namespace tidemark::collector::openlineage::json_view
