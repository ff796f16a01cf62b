#include "http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

namespace tidemark::pipeline {
namespace {

using namespace std::chrono_literals;

std::string DataFile(const std::string& name) {
  const char* src = std::getenv("TIDEMARK_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/data/tls/" + name;
}

// A real HTTPS server on 127.0.0.1:0 (OpenSSL directly) that answers every request 200, or
// closes when the client aborts the handshake. Serves until destroyed.
class TlsReceiver {
 public:
  TlsReceiver() {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, DataFile("localhost.pem").c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, DataFile("localhost.key").c_str(), SSL_FILETYPE_PEM), 1);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        SSL* ssl = SSL_new(ctx_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1) {
          char buf[4096];
          std::string got;
          while (got.find("\r\n\r\n") == std::string::npos) {
            int n = SSL_read(ssl, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
          }
          const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
          SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
          ++served;
          SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        ::close(c);
      }
    });
  }
  ~TlsReceiver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    SSL_CTX_free(ctx_);
  }
  std::string Url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(port_) + "/hook";
  }
  std::atomic<int> served{0};

 private:
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(HttpClientTest, HttpsTrustsOnlyVerifiedCertificatesForTheRightHost) {
  TlsReceiver server;
  // Self-signed and not trusted: refused before anything is sent.
  auto untrusted = PostOnce(server.Url("localhost"), {}, "{}", 2000ms, "");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("certificate verify failed"), std::string::npos)
      << untrusted.status().ToString();
  // Trusted explicitly: delivered.
  auto trusted = PostOnce(server.Url("localhost"), {}, "{}", 2000ms, DataFile("localhost.pem"));
  ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
  EXPECT_EQ(trusted->status, 200);
  // Trusted, but the name does not match the certificate (it names localhost only).
  auto wrong_host = PostOnce(server.Url("127.0.0.1"), {}, "{}", 2000ms, DataFile("localhost.pem"));
  EXPECT_FALSE(wrong_host.ok());
  EXPECT_EQ(server.served, 1);
}

TEST(HttpClientTest, BadUrlsAreInvalidArgumentAndTimeoutsUnavailable) {
  EXPECT_TRUE(PostOnce("ftp://x/y", {}, "", 100ms, "").status().IsInvalidArgument());
  EXPECT_TRUE(PostOnce("https://user:pw@x/y", {}, "", 100ms, "").status().IsInvalidArgument());
  EXPECT_TRUE(PostOnce("https://x:99999/y", {}, "", 100ms, "").status().IsInvalidArgument());
  // A listener that never answers: the deadline holds.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(fd, 4);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = PostOnce("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", {}, "{}",
                    300ms, "");
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ::close(fd);
}

}  // namespace
}  // namespace tidemark::pipeline
