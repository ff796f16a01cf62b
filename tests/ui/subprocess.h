#pragma once

// Subprocess: the `tidemark` binary (TIDEMARK_BINARY, defined by the test target) run as a
// child process with its stdout and stderr captured, for the tests that check what a user or
// a script sees. Not thread-safe.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace tidemark::test {

using namespace std::chrono_literals;

// A running `tidemark` with its stdout and stderr captured. Its environment is ours minus every
// TIDEMARK_* variable, so the developer's settings cannot leak into a test.
class Subprocess {
 public:
  using Clock = std::chrono::steady_clock;

  // `cwd`: the child's working directory; empty keeps ours.
  explicit Subprocess(const std::vector<std::string>& args, const std::string& cwd = "") {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, err[0]);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

    std::vector<std::string> argv_storage = {TIDEMARK_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** var = environ; *var != nullptr; ++var) {
      if (std::strncmp(*var, "TIDEMARK_", 9) != 0) envp.push_back(*var);
    }
    envp.push_back(nullptr);

    if (posix_spawn(&pid_, TIDEMARK_BINARY, &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }

  ~Subprocess() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  bool started() const { return pid_ > 0; }
  void Signal(int signal) { kill(pid_, signal); }
  const std::string& out() const { return text_[0]; }
  const std::string& err() const { return text_[1]; }

  // Collects output until `needle` appears in stdout (`in_stdout`) or stderr; false when the
  // process exits or the deadline passes first.
  bool WaitForOutput(std::string_view needle, bool in_stdout,
                     std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (text_[in_stdout ? 0 : 1].find(needle) == std::string::npos) {
      if (Clock::now() >= deadline || !Pump(deadline)) return false;
    }
    return true;
  }

  // Collects output until the process exits; its exit code (128 + signal when killed by one),
  // or nullopt when it is still running at the deadline.
  std::optional<int> Wait(std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (Pump(deadline)) {
    }
    int status = 0;
    while (Clock::now() < deadline) {
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

 private:
  // Reads whatever is available; false once both pipes are closed or the deadline passed.
  bool Pump(Clock::time_point deadline) {
    pollfd polls[2];
    int open = 0;
    for (int i = 0; i < 2; ++i) {
      polls[i] = {fds_[i], POLLIN, 0};
      if (fds_[i] >= 0) ++open;
    }
    if (open == 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms || poll(polls, 2, static_cast<int>(left.count())) <= 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || polls[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = read(fds_[i], buffer, sizeof buffer);
      if (n > 0) {
        text_[i].append(buffer, static_cast<size_t>(n));
      } else {
        close(fds_[i]);
        fds_[i] = -1;
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string text_[2];
  std::optional<int> exit_code_;
};

}  // namespace tidemark::test
