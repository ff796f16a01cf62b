// JsonInput: error locations, strict and lenient reads, slices.

#include "json_input.h"

#include <gtest/gtest.h>

namespace tidemark::collector {
namespace {

TEST(JsonPathTest, EscapesSegmentsAsRfc6901Says) {
  JsonPath root;
  JsonPath nodes(root, "nodes");
  JsonPath id(nodes, "model.a/b~c");
  JsonPath index(id, size_t{3});
  EXPECT_EQ(root.ToPointer(), "");
  EXPECT_EQ(index.ToPointer(), "/nodes/model.a~1b~0c/3");
}

TEST(LocateOffsetTest, CountsLinesAndColumnsFromOne) {
  EXPECT_EQ(LocateOffset("ab\ncd", 0).line, 1u);
  EXPECT_EQ(LocateOffset("ab\ncd", 4).line, 2u);
  EXPECT_EQ(LocateOffset("ab\ncd", 4).column, 2u);
  EXPECT_EQ(LocateOffset("ab", 99).column, 3u);
}

TEST(JsonInputTest, SyntaxErrorsNameLineAndColumn) {
  std::string text = "{\n  \"a\": [1, 2\n  3]\n}";
  JsonInput in("f.json", text, text.capacity());
  auto root = in.Root();
  Status st = root.ok() ? [&] {
    for (auto field : *root) {
      od::field f;
      if (auto e = std::move(field).get(f)) return in.SyntaxError(e);
      Status s = in.SkipValue(f.value());
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }()
                        : root.status();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.where(), "f.json, line 3, column 3");
}

TEST(JsonInputTest, EmptyAndNonObjectDocumentsAreRefused) {
  std::string empty = "  \n";
  JsonInput a("e.json", empty, empty.capacity());
  EXPECT_EQ(a.Root().status().message(), "the document is empty");
  std::string array = "[1]";
  JsonInput b("a.json", array, array.capacity());
  EXPECT_EQ(b.Root().status().message(), "the document is not a JSON object");
}

TEST(JsonInputTest, StringsReadStrictlyOrLeniently) {
  std::string text = R"({"s": "a\"b", "n": null, "x": 5, "l": ["p", "q"], "one": "r"})";
  JsonInput in("t.json", text, text.capacity());
  auto root = in.Root();
  ASSERT_TRUE(root.ok());
  for (auto field : *root) {
    od::field f;
    ASSERT_FALSE(std::move(field).get(f));
    std::string_view key = JsonInput::KeyOf(f);
    const JsonPath root;
    JsonPath path(root, key);
    if (key == "s") {
      EXPECT_EQ(*in.String(f.value(), path), "a\"b");
    } else if (key == "n") {
      EXPECT_EQ(*in.String(f.value(), path), "");
    } else if (key == "x") {
      auto s = in.String(f.value(), path);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.status().where(), "t.json, line 1, column 31, at /x");
    } else {
      std::vector<std::string> list;
      ASSERT_TRUE(in.StringList(f.value(), path, &list).ok());
      EXPECT_FALSE(list.empty());
    }
  }
}

TEST(JsonInputTest, SlicesReportPositionsInTheWholeText) {
  std::string text = "{\"a\": 1,\n \"cols\": {\"x\": {\"name\": 7}}}";
  JsonInput in("w.json", text, text.capacity());
  std::string_view whole = in.text();  // a padded copy: `text` has no room for padding
  size_t at = whole.find("{\"x\"");
  std::string_view slice = whole.substr(at, whole.size() - at - 1);
  od::parser parser;
  auto sub = in.Slice(slice, parser);
  auto root = sub->RootValue();
  ASSERT_TRUE(root.ok());
  const JsonPath top;
  const JsonPath x(top, "x");
  Status st = sub->ForEachField(*root, top, [&](od::field& f) -> Status {
    return sub->Invalid(x, "bad", JsonInput::PositionOf(f.value()));
  });
  EXPECT_EQ(st.where(), "w.json, line 2, column 16, at /x");
}

TEST(JsonInputTest, NumbersFromNumbersAndNumericStrings) {
  std::string text = R"({"a": 1.5, "b": " 42 ", "c": "n/a", "d": true})";
  JsonInput in("n.json", text, text.capacity());
  auto root = in.Root();
  ASSERT_TRUE(root.ok());
  std::vector<std::optional<double>> got;
  for (auto field : *root) {
    od::field f;
    ASSERT_FALSE(std::move(field).get(f));
    got.push_back(*in.Number(f.value()));
  }
  EXPECT_EQ(got, (std::vector<std::optional<double>>{1.5, 42, std::nullopt, std::nullopt}));
}

}  // namespace
}  // namespace tidemark::collector
