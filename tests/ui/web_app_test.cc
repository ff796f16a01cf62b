// The embedded web page served by every Service, over real HTTP on loopback: the app shell on
// the page routes, the static files with their content types, the Content-Security-Policy,
// ETag revalidation (304) and 404 for anything that was not embedded.

#include "web_app.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tidemark/catalog/store.h"
#include "ui/http_client.h"
#include "ui/running_service.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

std::string SourceFile(const std::string& relative) {
  std::ifstream in(std::string(TIDEMARK_TEST_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class WebAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = catalog::OpenStore({.url = "sqlite:" + (dir_.path() / "s.db").string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    server_ = std::make_unique<test::RunningService>(*store_);
  }

  test::HttpReply Get(const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto client = test::HttpClient::Connect(server_->port());
    EXPECT_NE(client, nullptr);
    if (!client) return {};
    auto reply = client->Request("GET", target, {}, headers);
    EXPECT_TRUE(reply.has_value()) << target;
    return reply.value_or(test::HttpReply{});
  }

  test::TempDir dir_{"tidemark-web-test"};
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<test::RunningService> server_;
};

TEST_F(WebAppTest, EveryPageRouteAnswersTheAppShell) {
  const std::string shell = SourceFile("ui/web/index.html");
  ASSERT_FALSE(shell.empty());
  for (const char* target : {"/", "/search", "/search?q=%20", "/search?sort=name",
                             "/assets/postgres%3A%2F%2Fwh%2Fanalytics.orders",
                             "/assets/dbt://shop/marts.orders", "/incidents?state=open",
                             "/incidents/inc-0123abcd",
                             "/owners/team%3Afinance"}) {
    test::HttpReply reply = Get(target);
    EXPECT_EQ(reply.status, 200) << target;
    EXPECT_EQ(reply.Header("content-type"), "text/html; charset=utf-8") << target;
    EXPECT_EQ(reply.body, shell) << target;
  }
}

TEST_F(WebAppTest, ASearchPageNamesItsFirstSearchForPreloading) {
  const std::string shell = SourceFile("ui/web/index.html");
  const std::string marker = "<!--first-search-->";
  ASSERT_NE(shell.find(marker), std::string::npos);
  // The page's filters, re-encoded, in search.js's order, and the page size it asks for.
  test::HttpReply reply = Get("/search?owner=team%3Afinance&q=orders+2026&x=1&tag=");
  ASSERT_EQ(reply.status, 200);
  std::string expected = shell;
  expected.replace(expected.find(marker), marker.size(),
                   "<link rel=\"preload\" as=\"fetch\" crossorigin=\"anonymous\" "
                   "id=\"first-search\" href=\"/api/v1/search?q=orders%202026&amp;"
                   "owner=team%3Afinance&amp;limit=25\">");
  EXPECT_EQ(reply.body, expected);
  // Markup in a parameter stays inside the attribute.
  test::HttpReply hostile = Get("/search?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  EXPECT_EQ(hostile.body.find("<script>"), std::string::npos);
  EXPECT_NE(hostile.body.find("q=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;limit=25"),
            std::string::npos);
  // Each variant is its own representation for caches.
  EXPECT_NE(reply.Header("etag"), Get("/search").Header("etag"));
  EXPECT_NE(reply.Header("etag"), hostile.Header("etag"));
  EXPECT_EQ(Get("/search?q=orders").Header("etag"), Get("/search?q=orders").Header("etag"));
}

TEST_F(WebAppTest, StaticFilesAreTheEmbeddedBytesWithTheirContentTypes) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"app.js", "text/javascript; charset=utf-8"},
      {"search.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"icon.svg", "image/svg+xml"}};
  for (const auto& [name, type] : files) {
    test::HttpReply reply = Get("/static/" + name);
    EXPECT_EQ(reply.status, 200) << name;
    EXPECT_EQ(reply.Header("content-type"), type) << name;
    EXPECT_EQ(reply.Header("x-content-type-options"), "nosniff") << name;
    EXPECT_EQ(reply.body, SourceFile("ui/web/" + name)) << name;
  }
}

TEST_F(WebAppTest, EveryAnswerCarriesAStrictContentSecurityPolicy) {
  for (const char* target : {"/", "/assets/x", "/static/app.js", "/static/style.css"}) {
    std::string csp = Get(target).Header("content-security-policy");
    EXPECT_EQ(csp, kWebContentSecurityPolicy) << target;
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << "no unsafe-inline or unsafe-eval";
    EXPECT_EQ(csp.find("http"), std::string::npos) << "no outside host";
  }
}

TEST_F(WebAppTest, TheShellHasNoInlineScriptOrStyle) {
  const std::string shell = Get("/").body;
  std::smatch m;
  // Every <script> has a same-origin src, and no element carries an inline handler or style.
  std::regex script_tag("<script\\b[^>]*>", std::regex::icase);
  int scripts = 0;
  for (auto it = std::sregex_iterator(shell.begin(), shell.end(), script_tag);
       it != std::sregex_iterator(); ++it, ++scripts) {
    EXPECT_NE(it->str().find("src=\"/static/"), std::string::npos) << it->str();
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_FALSE(std::regex_search(shell, m, std::regex("\\son[a-z]+=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(shell, m, std::regex("\\sstyle=|<style", std::regex::icase)));
}

TEST_F(WebAppTest, AMatchingETagGets304WithoutABody) {
  test::HttpReply first = Get("/static/app.js");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.Header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.Header("cache-control"), "no-cache");
  test::HttpReply again = Get("/static/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("etag"), etag);
  test::HttpReply listed = Get("/static/app.js", {{"If-None-Match", "\"0000\", " + etag}});
  EXPECT_EQ(listed.status, 304);
  test::HttpReply stale = Get("/static/app.js", {{"If-None-Match", "\"0123456789abcdef\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, first.body);
  // The shell revalidates the same way, and each file has its own validator.
  test::HttpReply shell = Get("/");
  EXPECT_NE(shell.Header("etag"), etag);
  EXPECT_EQ(Get("/search", {{"If-None-Match", shell.Header("etag")}}).status, 304);
}

TEST_F(WebAppTest, AnythingNotEmbeddedIs404) {
  for (const char* target : {"/static/nope.js", "/static/", "/static/index.html",
                             "/static/..%2Fsrc%2Fweb_app.cc", "/static/../CMakeLists.txt",
                             "/static/app.js/x", "/nowhere"}) {
    test::HttpReply reply = Get(target);
    EXPECT_EQ(reply.status, 404) << target;
    EXPECT_EQ(reply.Header("content-type"), "application/json") << target;
  }
}

TEST_F(WebAppTest, HeadAnswersTheHeadersOnly) {
  auto client = test::HttpClient::Connect(server_->port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("HEAD /static/style.css HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto reply = client->Read(/*head=*/true);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-type"), "text/css; charset=utf-8");
  EXPECT_TRUE(reply->body.empty());
}

}  // namespace
}  // namespace tidemark::ui
