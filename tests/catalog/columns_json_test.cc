// ColumnsToJson / ColumnsFromJson: the text both stores keep for a schema snapshot's columns.
// It must be byte for byte what the nlohmann DOM it replaced wrote (stored rows are compared
// as text), read back to the same columns, and neither throw nor fail on text it did not
// write.

#include "columns_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tidemark::catalog {
namespace {

// What the stores wrote before ColumnsToJson: kept here as the reference.
std::string WithDom(const std::vector<model::Column>& columns) {
  nlohmann::json arr = nlohmann::json::array();
  for (const model::Column& c : columns) {
    nlohmann::json j = {{"name", c.name}, {"position", c.position}, {"type", c.data_type}};
    if (c.nullable) j["nullable"] = *c.nullable;
    if (!c.description.empty()) j["description"] = c.description;
    arr.push_back(std::move(j));
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

model::Column Col(std::string name, int position, std::string type, std::string description = "",
                  std::optional<bool> nullable = std::nullopt) {
  model::Column c;
  c.name = std::move(name);
  c.position = position;
  c.data_type = std::move(type);
  c.description = std::move(description);
  c.nullable = nullable;
  return c;
}

TEST(ColumnsJsonTest, WritesTheBytesTheDomWroteAndReadsThemBack) {
  const std::vector<std::vector<model::Column>> cases = {
      {},
      {Col("id", 1, "bigint")},
      {Col("id", 1, "bigint", "The key.", false), Col("email", 2, "text", "", true),
       Col("amount", 3, "numeric(12,2)", "In \"cents\"\\n\ttabbed\n", std::nullopt)},
      {Col("café_ñame", 1, "text", "naïve – ünïcode ✓ 🦆"), Col("", 0, ""),
       Col("address.city", -4, "STRUCT<a INT>", std::string("nul\0byte", 8))},
  };
  for (const auto& columns : cases) {
    const std::string text = ColumnsToJson(columns);
    EXPECT_EQ(text, WithDom(columns));
    std::vector<model::Column> back = ColumnsFromJson(text);
    EXPECT_EQ(back, columns) << text;
  }
}

TEST(ColumnsJsonTest, InvalidUtf8IsReplacedNotThrown) {
  const std::vector<model::Column> columns = {Col("na\xffme", 1, "te\xc3xt", "\xe2\x82")};
  const std::string text = ColumnsToJson(columns);
  EXPECT_EQ(text, WithDom(columns));
  ASSERT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded()) << text;
  std::vector<model::Column> back = ColumnsFromJson(text);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "na\xef\xbf\xbdme");
  EXPECT_EQ(back[0].position, 1);
}

TEST(ColumnsJsonTest, DamagedTextReadsAsWhatCanBeRead) {
  EXPECT_TRUE(ColumnsFromJson("").empty());
  EXPECT_TRUE(ColumnsFromJson("not json").empty());
  EXPECT_TRUE(ColumnsFromJson(R"({"name":"id"})").empty());
  std::vector<model::Column> read = ColumnsFromJson(
      R"([1, "x", null, {"name": 7, "position": "2", "type": "int", "nullable": "yes"},)"
      R"( {"name": "ok", "position": 3, "description": ["no"], "nullable": true}])");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0], Col("", 0, "int"));
  EXPECT_EQ(read[1], Col("ok", 3, "", "", true));
}

}  // namespace
}  // namespace tidemark::catalog
