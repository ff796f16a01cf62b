#include "web_app.h"

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "web_files.h"

namespace tidemark::ui {
namespace {

using model::Status;

struct StaticFile {
  std::string_view body;
  std::string content_type;
  std::string etag;
};

std::string ContentTypeFor(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
      {".json", "application/json"},          {".png", "image/png"},
      {".ico", "image/x-icon"},               {".txt", "text/plain; charset=utf-8"}};
  size_t dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    if (auto it = kTypes.find(path.substr(dot)); it != kTypes.end()) return std::string(it->second);
  }
  return "application/octet-stream";
}

// A strong validator. The files change only with the binary, and std::hash is stable within
// one binary, so a new build's files get new tags.
std::string ETagOf(std::string_view bytes) {
  char text[24];
  std::snprintf(text, sizeof text, "\"%016zx\"", std::hash<std::string_view>{}(bytes));
  return text;
}

const std::map<std::string, StaticFile, std::less<>>& Files() {
  static const auto* files = [] {
    auto* m = new std::map<std::string, StaticFile, std::less<>>();
    for (size_t i = 0; i < kEmbeddedFileCount; ++i) {
      const EmbeddedFile& f = kEmbeddedFiles[i];
      std::string_view body(reinterpret_cast<const char*>(f.data), f.size);
      m->emplace(f.path, StaticFile{body, ContentTypeFor(f.path), ETagOf(body)});
    }
    return m;
  }();
  return *files;
}

// True when an If-None-Match list ("a", "b" or *) names `etag`.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.find('*') != std::string_view::npos) return true;
  return if_none_match.find(etag) != std::string_view::npos;
}

// The query parameters of /search that search.js passes on to /api/v1/search (its FILTERS).
constexpr std::string_view kSearchParams[] = {"q",        "kind",   "health", "owner", "tag",
                                              "database", "schema", "source", "status"};
constexpr std::string_view kPreloadMarker = "<!--first-search-->";

// For /search?q=orders: the search the page will make first, as a <link rel=preload>, so that
// the browser asks for it while it loads the scripts (search.js uses it when it asks for the
// same thing). Empty when the page shows no results at first (no words, no filter).
std::string FirstSearchPreload(const Request& request) {
  std::string href = "/api/v1/search?";
  bool any = false;
  for (std::string_view name : kSearchParams) {
    std::optional<std::string_view> value = request.QueryParam(name);
    if (!value || value->empty()) continue;
    if (name == "q" && value->find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
    href.append(name).append("=");
    AppendPercentEncoded(href, *value);
    href.append("&amp;");
    any = true;
  }
  if (!any) return {};
  href.append("limit=25");
  return "<link rel=\"preload\" as=\"fetch\" crossorigin=\"anonymous\" id=\"first-search\" href=\"" +
         href + "\">";
}

Response Serve(const Request& request, const StaticFile& file) {
  Response response;
  response.content_type = file.content_type;
  response.headers.Set("ETag", file.etag);
  response.headers.Set("Cache-Control", "no-cache");
  response.headers.Set("Content-Security-Policy", kWebContentSecurityPolicy);
  response.headers.Set("X-Content-Type-Options", "nosniff");
  response.headers.Set("Referrer-Policy", "no-referrer");
  response.headers.Set("X-Frame-Options", "DENY");
  if (auto inm = request.headers.Get("If-None-Match"); inm && Matches(*inm, file.etag)) {
    response.status = 304;
    return response;
  }
  response.body = std::string(file.body);
  return response;
}

}  // namespace

Status AddWebRoutes(Router& router) {
  const auto& files = Files();
  auto shell = files.find("index.html");
  if (shell == files.end()) return Status::Internal("the web page was not embedded (index.html)");
  const StaticFile* index = &shell->second;
  if (index->body.find(kPreloadMarker) == std::string_view::npos) {
    return Status::Internal("index.html lost its " + std::string(kPreloadMarker) + " marker");
  }
  auto app = [index](const Request& request) {
    std::string preload = request.path == "/search" || request.path == "/"
                              ? FirstSearchPreload(request)
                              : std::string();
    if (preload.empty()) return Serve(request, *index);
    std::string body(index->body);
    body.replace(body.find(kPreloadMarker), kPreloadMarker.size(), preload);
    const StaticFile page{body, index->content_type, ETagOf(body)};
    return Serve(request, page);
  };
  // The page's own routes all answer the shell; app.js reads location and draws the view.
  for (const char* pattern : {"/", "/search", "/incidents", "/incidents/{id}", "/assets/{key...}",
                              "/owners/{id}"}) {
    TM_RETURN_IF_ERROR(router.Add("GET", pattern, {.name = "web_page"}, app));
  }
  return router.Add("GET", "/static/{path...}", {.name = "web_static"},
                    [&files](const Request& request) {
                      auto it = files.find(request.PathParam("path"));
                      if (it == files.end() || it->first == "index.html") {
                        return ErrorResponse(Status::NotFound("no such file", request.path));
                      }
                      return Serve(request, it->second);
                    });
}

}  // namespace tidemark::ui
