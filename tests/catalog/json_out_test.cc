// JsonOut writes the bytes nlohmann's dump(-1, ' ', false, replace) writes for the same values.

#include "tidemark/catalog/json_out.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace tidemark::catalog {
namespace {

std::string Reference(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Written(std::string_view s) {
  std::string out;
  JsonOut(out).String(s);
  return out;
}

TEST(JsonOutTest, StringsMatchNlohmann) {
  const std::string cases[] = {
      "",
      "plain ascii",
      "quote \" backslash \\ slash /",
      std::string("controls \x01\x08\t\n\x0b\x0c\r\x1f\x7f end"),
      std::string("nul \0 inside", 12),
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 emoji",
      "lone continuation \x80 here",
      "truncated \xE2\x82",
      "overlong \xC0\xAF and \xE0\x80\xAF",
      "surrogate \xED\xA0\x80",
      "too large \xF4\x90\x80\x80",
      "bad then good \xFF\xC3\xA9\"",
      "\xC3",
      "escaped quote before bad \\\"\xFE",
  };
  for (const std::string& s : cases) {
    EXPECT_EQ(Written(s), Reference(s)) << "input bytes: " << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
}

TEST(JsonOutTest, RandomBytesMatchNlohmann) {
  const unsigned seed = 20261206;
  std::mt19937 rng(seed);
  // Bytes weighted towards what makes UTF-8 interesting: ASCII, escapes, lead and
  // continuation bytes.
  const std::string alphabet = std::string("aZ0 \"\\\n\x01\x7f", 10) +
                               "\x80\xBF\xC2\xDF\xE0\xED\xEF\xF0\xF4\xF5\xFF\xA0\x9F\x8F\x90";
  // Up to 40 bytes: String tests eight at a time, so escapes and invalid bytes land at every
  // place of a block, across blocks and in the padded tail.
  for (int n = 0; n < 20000; ++n) {
    std::string s(rng() % 41, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(Written(s), Reference(s)) << "seed " << seed << ", case " << n;
  }
}

TEST(JsonOutTest, LongValidStringsMatchNlohmann) {
  const unsigned seed = 20261207;
  std::mt19937 rng(seed);
  // Mostly plain ASCII with escapes and valid multi-byte characters, up to 60 bytes: the
  // escapes fall before, inside and after eight-byte blocks that are known to be UTF-8.
  const std::string pieces[] = {"a", "Z", "0", " ", "\"", "\\", "\n", std::string("\x01", 1),
                                "\x7f", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const size_t len = rng() % 61;
    while (s.size() < len) s += pieces[rng() % 4 != 0 ? rng() % 4 : rng() % std::size(pieces)];
    ASSERT_EQ(Written(s), Reference(s)) << "seed " << seed << ", case " << n;
  }
}

TEST(JsonOutTest, NumbersMatchNlohmann) {
  for (double v : {0.0, -0.0, 1.0, 1132.0, -998868.0, 101132.0, 0.5, 1e15, 1e16, -1e300, 123.25,
                   999999999999999.0, std::numeric_limits<double>::infinity()}) {
    std::string out;
    JsonOut(out).Double(v);
    EXPECT_EQ(out, Reference(v)) << v;
  }
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-7}, std::numeric_limits<std::int64_t>::min(),
                         std::numeric_limits<std::int64_t>::max()}) {
    std::string out;
    JsonOut(out).Int(v);
    EXPECT_EQ(out, Reference(v));
  }
  std::string out;
  JsonOut(out).UInt(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(out, Reference(std::numeric_limits<std::uint64_t>::max()));
}

TEST(JsonOutTest, ObjectsAndListsMatchNlohmann) {
  std::string out;
  JsonOut j(out);
  j.Raw("{").Key("a", true).Strings({"x", "y\"z"}).Key("b").Bool(false).Key("c").Null();
  j.Key("d").Strings({}).Key("e").Bool(true).Raw("}");
  nlohmann::ordered_json ref = {{"a", {"x", "y\"z"}}, {"b", false}, {"c", nullptr},
                                {"d", nlohmann::ordered_json::array()}, {"e", true}};
  EXPECT_EQ(out, Reference(ref));
  EXPECT_TRUE(nlohmann::json::accept(out));
}

}  // namespace
}  // namespace tidemark::catalog
