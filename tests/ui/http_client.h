#pragma once

// HttpClient: a blocking HTTP/1.1 client over loopback for tests, one connection per object,
// so tests can check keep-alive, timeouts and closes on the wire. Every call has a deadline:
// a server bug fails a test instead of hanging it. Beast stays inside http_client.cc.
// Not thread-safe; use one client per thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidemark::test {

using namespace std::chrono_literals;

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent. `name` in lower case.
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  // Connects to 127.0.0.1:port; nullptr when refused or past the deadline.
  static std::unique_ptr<HttpClient> Connect(uint16_t port, std::chrono::milliseconds timeout = 5s);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends raw bytes; false when the connection fails.
  bool Send(std::string_view bytes);
  // Reads one response; nullopt when the connection closes or the deadline passes first.
  // `head`: the response answers a HEAD request (headers only).
  std::optional<HttpReply> Read(bool head = false, std::chrono::milliseconds timeout = 5s);
  // Sends one request (Host and Content-Length set, plus `headers`) and reads its response.
  std::optional<HttpReply> Request(
      std::string_view method, std::string_view target, std::string_view body = {},
      const std::vector<std::pair<std::string, std::string>>& headers = {});
  // True when the server closes the connection within `timeout`; anything it sends meanwhile
  // is discarded.
  bool WaitForClose(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection; nullopt when anything fails.
std::optional<HttpReply> Fetch(uint16_t port, std::string_view method, std::string_view target,
                               std::string_view body = {});

}  // namespace tidemark::test
