#pragma once

// A real HTTP/1.1 webhook receiver on 127.0.0.1:0 for tests: it records every request it gets
// (headers, body) and answers with the next scripted status (200 when the script is empty),
// optionally with a Retry-After. One connection at a time, Connection: close. Plain POSIX
// sockets so the test needs no Beast of its own.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tidemark::pipeline::testing {

struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Reply {
  int status = 200;
  std::string retry_after;
  int hang_ms = 0;  // wait this long before answering (past the sender's timeout)
};

class Receiver {
 public:
  // With `keep` false it only counts requests (benchmarks posting 100k of them).
  explicit Receiver(bool keep = true) : keep_(keep) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    script_.assign(replies.begin(), replies.end());
  }
  std::vector<Received> Got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  size_t Count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Serve(c);
      ::close(c);
    }
  }
  void Serve(int c) {
    std::string data;
    char buf[8192];
    size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    Received r;
    std::string head = data.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    r.method = request_line.substr(0, request_line.find(' '));
    r.target = request_line.substr(r.method.size() + 1, request_line.rfind(' ') - r.method.size() - 1);
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
      pos = e + 2;
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = data.substr(head_end + 4);
    while (r.body.size() < length) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      r.body.append(buf, static_cast<size_t>(n));
    }
    Reply reply;
    {
      std::lock_guard lock(mu_);
      ++count_;
      if (keep_) got_.push_back(r);
      if (!script_.empty()) {
        reply = script_.front();
        script_.pop_front();
      }
    }
    if (reply.hang_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.hang_ms));
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Length: 2\r\n";
    if (!reply.retry_after.empty()) out += "Retry-After: " + reply.retry_after + "\r\n";
    out += "Connection: close\r\n\r\nok";
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  const bool keep_;
  size_t count_ = 0;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<Reply> script_;
  std::vector<Received> got_;
};

}  // namespace tidemark::pipeline::testing
