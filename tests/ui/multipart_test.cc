// multipart/form-data parsing, on bodies shaped like curl -F sends them.

#include "multipart.h"

#include <gtest/gtest.h>

namespace tidemark::ui {
namespace {

std::string Body(std::string_view boundary, const std::vector<std::string>& parts) {
  std::string body;
  for (const std::string& p : parts) body += "--" + std::string(boundary) + "\r\n" + p + "\r\n";
  return body + "--" + std::string(boundary) + "--\r\n";
}

TEST(MultipartTest, FindsBoundaryInContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=------abc123"), "------abc123");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a;b\""), "a;b");
  EXPECT_FALSE(MultipartBoundary("application/json").has_value());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").has_value());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=").has_value());
}

TEST(MultipartTest, SplitsFilePartsKeepingContentExactly) {
  const std::string manifest = "{\"nodes\": {}}\r\n--not-the-boundary\r\n";
  std::string body = Body(
      "XyZ", {"Content-Disposition: form-data; name=\"manifest\"; filename=\"manifest.json\"\r\n"
              "Content-Type: application/json\r\n\r\n" + manifest,
              "content-disposition: form-data; name=run_results\r\n\r\n{}"});
  auto parts = ParseMultipart(body, "XyZ");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "manifest");
  EXPECT_EQ((*parts)[0].filename, "manifest.json");
  EXPECT_EQ((*parts)[0].content_type, "application/json");
  EXPECT_EQ((*parts)[0].body, manifest);
  EXPECT_EQ((*parts)[1].name, "run_results");
  EXPECT_EQ((*parts)[1].body, "{}");
}

TEST(MultipartTest, MalformedBodiesSayWhere) {
  EXPECT_TRUE(ParseMultipart("no boundary here", "b").status().IsInvalidArgument());
  auto truncated = ParseMultipart(
      "--b\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\n{\"nodes\"", "b");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().where().find("manifest"), std::string::npos);
  EXPECT_NE(truncated.status().message().find("closing boundary"), std::string::npos);
  auto unnamed = ParseMultipart(Body("b", {"Content-Type: text/plain\r\n\r\nx"}), "b");
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().where(), "body part 1");
}

}  // namespace
}  // namespace tidemark::ui
