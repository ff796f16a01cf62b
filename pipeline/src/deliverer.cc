#include "tidemark/pipeline/deliverer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "http_client.h"
#include "tidemark/pipeline/notifier.h"

namespace tidemark::pipeline {

using model::Result;
using model::Status;

// Successful deliveries recorded per commit: few enough that a crash re-sends little.
constexpr size_t kRecordEvery = 32;

namespace {

// Appends `line` and a newline to the file at `path` in one write (O_APPEND: concurrent
// writers never interleave within a line) and syncs it. The message names the file, which
// is not a secret, and the system's reason.
Status AppendLine(const std::string& path, std::string_view line) {
  auto fail = [&](const char* what) {
    return Status::IoError(std::string(what) + ": " + std::strerror(errno), path);
  };
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return fail("cannot open the alert file");
  std::string text(line);
  text += '\n';
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = fail("cannot write the alert file");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = fail("cannot sync the alert file");
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return fail("cannot close the alert file");
  return Status::Ok();
}

}  // namespace

std::string DeliveryStats::ToJson() const {
  nlohmann::json j = {{"claimed", claimed}, {"delivered", delivered}, {"retried", retried},
                      {"dead", dead}, {"lease_lost", lease_lost}};
  return j.dump();
}

Deliverer::Deliverer(catalog::Store& store, const model::Clock& clock,
                     const RoutingConfig& routing, DelivererOptions options)
    : store_(store), clock_(clock), routing_(routing), options_(std::move(options)),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

std::chrono::milliseconds Deliverer::Backoff(int attempts) {
  const auto cap = options_.max_backoff;
  auto d = options_.base_backoff;
  for (int i = 0; i < attempts && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  std::uniform_int_distribution<long long> half(d.count() / 2, std::max<long long>(d.count(), 1));
  return std::chrono::milliseconds(half(rng_));
}

Result<DeliveryStats> Deliverer::DeliverOnce() {
  DeliveryStats stats;
  TM_ASSIGN_OR_RETURN(auto alerts, store_.ClaimAlerts(options_.worker, options_.batch,
                                                       clock_.Now(), options_.lease));
  stats.claimed = static_cast<long long>(alerts.size());
  // Deliveries are recorded in groups (one commit each) rather than one commit per alert.
  std::vector<std::string> sent;
  auto record = [&]() -> Status {
    if (sent.empty()) return Status::Ok();
    // An alert whose lease passed to another worker meanwhile is not recorded here: that
    // worker sends it again, with the same idempotency key.
    TM_ASSIGN_OR_RETURN(auto done, store_.MarkAlertsDelivered(sent, options_.worker, clock_.Now()));
    stats.delivered += static_cast<long long>(done.size());
    stats.lease_lost += static_cast<long long>(sent.size() - done.size());
    sent.clear();
    return Status::Ok();
  };
  auto delivered = [&](const std::string& id) -> Status {
    sent.push_back(id);
    return sent.size() >= kRecordEvery ? record() : Status::Ok();
  };
  for (const model::Alert& alert : alerts) {
    std::string error;
    bool permanent = false;
    std::optional<std::chrono::seconds> retry_after;
    const Channel* channel = routing_.FindChannel(alert.channel);
    if (!channel) {
      error = "channel '" + alert.channel + "' is not configured";
      permanent = true;
    } else {
      auto message = RenderAlert(*channel, alert, clock_.Now());
      if (!message.ok()) {
        error = message.status().message();
        permanent = true;
      } else if (channel->kind == ChannelKind::kFile) {
        Status appended = AppendLine(channel->url, message->body);
        if (appended.ok()) {
          TM_RETURN_IF_ERROR(delivered(alert.id));
          continue;
        }
        error = appended.where() + ": " + appended.message();
      } else {
        auto res = PostOnce(channel->url, message->headers, message->body, channel->timeout,
                            channel->ca_file);
        if (!res.ok()) {
          // The status text never holds the URL: PostOnce names only host-free stages.
          error = res.status().message();
          permanent = res.status().IsInvalidArgument();
        } else if (res->status >= 200 && res->status < 300) {
          TM_RETURN_IF_ERROR(delivered(alert.id));
          continue;
        } else {
          error = "HTTP " + std::to_string(res->status);
          if (res->status >= 300 && res->status < 400) error += " (redirect refused)";
          retry_after = res->retry_after;
          // A 4xx other than 408/429 will not get better by retrying... except that chat
          // services answer 404 for a webhook being re-created; keep retrying, bounded.
        }
      }
    }
    const bool dead = permanent || alert.attempts + 1 >= options_.max_attempts;
    auto wait = retry_after ? std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after)
                            : Backoff(alert.attempts);
    const auto retry_at = clock_.Now() + std::chrono::duration_cast<std::chrono::microseconds>(wait);
    Status marked = store_.MarkAlertFailed(alert.id, options_.worker, error, retry_at, dead);
    if (marked.IsInvalidArgument()) {
      ++stats.lease_lost;
      continue;
    }
    TM_RETURN_IF_ERROR(marked);
    ++(dead ? stats.dead : stats.retried);
  }
  TM_RETURN_IF_ERROR(record());
  return stats;
}

Result<DeliveryStats> Deliverer::Drain(int max_rounds) {
  DeliveryStats total;
  for (int i = 0; i < max_rounds; ++i) {
    TM_ASSIGN_OR_RETURN(DeliveryStats s, DeliverOnce());
    total.claimed += s.claimed;
    total.delivered += s.delivered;
    total.retried += s.retried;
    total.dead += s.dead;
    total.lease_lost += s.lease_lost;
    if (s.claimed == 0) break;
  }
  return total;
}

}  // namespace tidemark::pipeline
