#include "columns_json.h"

#include <nlohmann/json.hpp>

#include "tidemark/catalog/json_out.h"

namespace tidemark::catalog {

std::string ColumnsToJson(const std::vector<model::Column>& columns) {
  std::string out;
  out.reserve(2 + columns.size() * 64);
  JsonOut json(out);
  json.Raw("[");
  for (size_t i = 0; i < columns.size(); ++i) {
    const model::Column& c = columns[i];
    if (i > 0) json.Sep();
    json.Raw("{");
    const bool described = !c.description.empty();
    if (described) json.Key("description", true).String(c.description);
    json.Key("name", !described).String(c.name);
    if (c.nullable) json.Key("nullable").Bool(*c.nullable);
    json.Key("position").Int(c.position);
    json.Key("type").String(c.data_type);
    json.Raw("}");
  }
  json.Raw("]");
  return out;
}

std::vector<model::Column> ColumnsFromJson(std::string_view text) {
  std::vector<model::Column> out;
  const auto arr = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!arr.is_array()) return out;
  out.reserve(arr.size());
  for (const auto& j : arr) {
    if (!j.is_object()) continue;
    auto text_of = [&](const char* name) {
      auto it = j.find(name);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    model::Column& c = out.emplace_back();
    c.name = text_of("name");
    c.data_type = text_of("type");
    c.description = text_of("description");
    if (auto it = j.find("position"); it != j.end() && it->is_number_integer()) {
      c.position = it->get<int>();
    }
    if (auto it = j.find("nullable"); it != j.end() && it->is_boolean()) c.nullable = it->get<bool>();
  }
  return out;
}

}  // namespace tidemark::catalog
