#include "ui/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>

namespace tidemark::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpReply::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;

  // Starts one asynchronous operation with `start(handler)` and runs it to completion or to
  // the deadline (the stream then fails the operation with beast::error::timeout).
  template <typename Start>
  beast::error_code Run(std::chrono::milliseconds timeout, Start start) {
    beast::error_code result;
    stream.expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient> HttpClient::Connect(uint16_t port, std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  Impl& self = *impl;
  auto ec = self.Run(timeout, [&](auto handler) { self.stream.async_connect(endpoint, handler); });
  if (ec) return nullptr;
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

bool HttpClient::Send(std::string_view bytes) {
  auto ec = impl_->Run(5s, [&](auto handler) {
    asio::async_write(impl_->stream, asio::buffer(bytes.data(), bytes.size()), handler);
  });
  return !ec;
}

std::optional<HttpReply> HttpClient::Read(bool head, std::chrono::milliseconds timeout) {
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto ec = impl_->Run(timeout, [&](auto handler) {
    http::async_read(impl_->stream, impl_->buffer, parser, handler);
  });
  if (ec) return std::nullopt;
  const auto& message = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = message.body();
  return reply;
}

std::optional<HttpReply> HttpClient::Request(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  text += "Host: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n";
  text += body;
  if (!Send(text)) return std::nullopt;
  return Read(method == "HEAD");
}

bool HttpClient::WaitForClose(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char scratch[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    auto ec = impl_->Run(
        left, [&](auto handler) { impl_->stream.async_read_some(asio::buffer(scratch), handler); });
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // eof or reset: closed
  }
}

std::optional<HttpReply> Fetch(uint16_t port, std::string_view method, std::string_view target,
                               std::string_view body) {
  auto client = HttpClient::Connect(port);
  if (!client) return std::nullopt;
  return client->Request(method, target, body);
}

}  // namespace tidemark::test
