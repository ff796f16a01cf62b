#include "http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <vector>

namespace tidemark::pipeline {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using model::Result;
using model::Status;

constexpr size_t kBodyLimit = 64 * 1024;

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;
};

Result<Target> ParseUrl(std::string_view url) {
  Target t;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("channel URL must start with https:// or http://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("channel URL must not carry credentials before the host");
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
  } else {
    t.host = std::string(authority);
    t.port = t.tls ? "443" : "80";
  }
  if (t.host.size() > 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty()) return Status::InvalidArgument("channel URL has no host");
  if (t.port.size() > 5 || t.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(t.port) > 65535) {
    return Status::InvalidArgument("channel URL has a bad port");
  }
  return t;
}

auto Capture(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

Status NetError(std::string_view what, const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Status::Unavailable(std::string(what) + ": timed out");
  }
  return Status::Unavailable(std::string(what) + ": " + ec.message());
}

template <typename Stream>
asio::awaitable<Status> Exchange(Stream& stream, beast::tcp_stream& tcp_layer,
                                 http::request<http::string_body>& req, HttpResult& out,
                                 std::chrono::steady_clock::time_point deadline) {
  beast::error_code ec;
  tcp_layer.expires_at(deadline);
  co_await http::async_write(stream, req, Capture(ec));
  if (ec) co_return NetError("write", ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  tcp_layer.expires_at(deadline);
  co_await http::async_read(stream, buffer, parser, Capture(ec));
  if (ec && ec != http::error::body_limit) co_return NetError("read", ec);
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  auto ra = res.find(http::field::retry_after);
  if (ra != res.end()) {
    long long s = 0;
    auto v = ra->value();
    auto [p, e] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (e == std::errc() && p == v.data() + v.size() && s >= 0) out.retry_after = std::chrono::seconds(s);
  }
  co_return Status::Ok();
}

asio::awaitable<Status> Post(const Target& t, http::request<http::string_body>& req,
                             std::chrono::steady_clock::time_point deadline,
                             ssl::context* tls, HttpResult& out) {
  auto ex = co_await asio::this_coro::executor;
  beast::error_code ec;
  // A literal address needs no resolver (whose async form starts a thread per context).
  std::vector<tcp::endpoint> endpoints;
  const auto address = asio::ip::make_address(t.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, static_cast<unsigned short>(std::stoi(t.port)));
  } else {
    ec = {};
    tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(t.host, t.port, Capture(ec));
    if (ec) co_return NetError("resolve " + t.host, ec);
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  if (!tls) {
    beast::tcp_stream stream(ex);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, Capture(ec));
    if (ec) co_return NetError("connect", ec);
    Status s = co_await Exchange(stream, stream, req, out, deadline);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return s;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, *tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str())) {
    co_return Status::Unavailable("TLS: cannot set SNI host name");
  }
  stream.set_verify_callback(ssl::host_name_verification(t.host));
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, Capture(ec));
  if (ec) co_return NetError("connect", ec);
  co_await stream.async_handshake(ssl::stream_base::client, Capture(ec));
  if (ec) co_return NetError("TLS handshake", ec);
  Status s = co_await Exchange(stream, beast::get_lowest_layer(stream), req, out, deadline);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(Capture(ec));  // best effort
  co_return s;
}

}  // namespace

Result<HttpResult> PostOnce(std::string_view url,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            std::string_view body, std::chrono::milliseconds timeout,
                            const std::string& ca_file) {
  TM_ASSIGN_OR_RETURN(Target t, ParseUrl(url));
  http::request<http::string_body> req{http::verb::post, t.path, 11};
  req.set(http::field::host, t.host);
  req.set(http::field::user_agent, "tidemark");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  req.prepare_payload();

  std::optional<ssl::context> tls;
  if (t.tls) {
    tls.emplace(ssl::context::tls_client);
    beast::error_code ec;
    tls->set_default_verify_paths(ec);
    if (!ca_file.empty()) {
      tls->load_verify_file(ca_file, ec);
      if (ec) return Status::InvalidArgument("cannot load CA file: " + ec.message(), ca_file);
    }
    tls->set_verify_mode(ssl::verify_peer);
  }
  asio::io_context io;
  HttpResult out;
  Status status = Status::Internal("request did not finish");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::co_spawn(io, Post(t, req, deadline, tls ? &*tls : nullptr, out),
                 [&](std::exception_ptr e, Status s) {
                   status = e ? Status::Internal("HTTP client failed") : std::move(s);
                 });
  try {
    io.run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("HTTP client: ") + e.what());
  }
  if (!status.ok()) return status;
  return out;
}

}  // namespace tidemark::pipeline
