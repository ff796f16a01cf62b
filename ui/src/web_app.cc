#include "web_app.h"

#include <cstdio>
#include <functional>
#include <map>
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
  auto app = [index](const Request& request) { return Serve(request, *index); };
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
