// The outbox survives kill -9: a real `tidemark serve` delivering to a real receiver (which
// also answers 500, 429 and hangs) is killed with SIGKILL mid-delivery and started again; every
// alert decided before the crash reaches the receiver, none is lost.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/test_stores.h"
#include "pipeline/receiver.h"
#include "tidemark/catalog/store.h"

extern char** environ;

namespace tidemark::pipeline {
namespace {

using namespace std::chrono_literals;
using testing::Receiver;
using testing::Reply;

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<std::string> storage = {TIDEMARK_BINARY};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, TIDEMARK_BINARY, nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

long long Delivered(const std::string& url) {
  auto store = catalog::OpenStore({.url = url});
  if (!store.ok()) return -1;
  auto alerts = (*store)->ListAlerts(model::AlertState::kDelivered, 100000);
  return alerts.ok() ? static_cast<long long>(alerts->size()) : -1;
}

TEST(OutboxCrashTest, KillNineLosesNoAlert) {
  catalog::testing::TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "t.db").string();
  constexpr int kAlerts = 60;
  {
    auto store = catalog::OpenStore({.url = db});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    catalog::WriteBatch batch;
    for (int i = 0; i < kAlerts; ++i) {
      model::Alert a;
      a.id = "alr-" + std::to_string(i);
      a.incident_id = "inc-" + std::to_string(i);
      a.channel = "hook";
      a.event = "opened";
      a.idempotency_key = a.incident_id + ":opened:1:hook";
      a.payload = R"({"incident_id":")" + a.incident_id + R"("})";
      batch.EnqueueAlert(a);
    }
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  Receiver receiver;
  // Faults early on; then every 7th request hangs past the 300 ms timeout.
  std::vector<Reply> script = {{500, "", 0}, {429, "1", 0}, {200, "", 1000}};
  for (int i = 0; i < 200; ++i) script.push_back(i % 7 == 3 ? Reply{200, "", 1000} : Reply{});
  receiver.Script(script);
  const std::string config = (dir.path() / "tidemark.yml").string();
  std::ofstream(config) << "channels:\n  hook:\n    kind: webhook\n    url: " << receiver.Url()
                        << "\n    secret: s\n    timeout: 300ms\n"
                        << "routes:\n  default: hook\n  detect_interval: 1h\n"
                        << "  delivery:\n    interval: 50ms\n    lease: 1s\n    backoff: 100ms\n"
                        << "    max_attempts: 50\n";
  const std::vector<std::string> args = {"--db", db, "--config", config, "--log-level", "warn",
                                         "serve", "--listen", "127.0.0.1:0"};
  pid_t first = Spawn(args);
  ASSERT_GT(first, 0);
  // Kill it as soon as the receiver has seen a third of the alerts: mid-batch, mid-lease.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (receiver.Got().size() < kAlerts / 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  int status = 0;
  ::waitpid(first, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const long long before = Delivered(db);
  EXPECT_LT(before, kAlerts) << "the crash came too late to test anything";

  pid_t second = Spawn(args);
  ASSERT_GT(second, 0);
  while (Delivered(db) < kAlerts && std::chrono::steady_clock::now() < deadline + 20s) {
    std::this_thread::sleep_for(50ms);
  }
  ::kill(second, SIGTERM);
  ::waitpid(second, &status, 0);
  EXPECT_EQ(Delivered(db), kAlerts);
  std::set<std::string> keys;
  for (const auto& r : receiver.Got()) keys.insert(r.headers.at("idempotency-key"));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kAlerts));  // at least once each
}

}  // namespace
}  // namespace tidemark::pipeline
