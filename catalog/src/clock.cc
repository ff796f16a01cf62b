#include "tidemark/model/clock.h"

#include <mutex>

namespace tidemark::model {
namespace {

class SystemClockImpl final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
};

}  // namespace

Clock& SystemClock() {
  static SystemClockImpl clock;  // never destroyed before its users: a trivial destructor
  return clock;
}

struct ManualClock::State {
  mutable std::mutex mu;
  Timestamp now;
};

ManualClock::ManualClock(Timestamp start) : state_(std::make_unique<State>()) {
  state_->now = start;
}
ManualClock::~ManualClock() = default;

Timestamp ManualClock::Now() const {
  std::lock_guard lock(state_->mu);
  return state_->now;
}

void ManualClock::Set(Timestamp t) {
  std::lock_guard lock(state_->mu);
  state_->now = t;
}

void ManualClock::Advance(std::chrono::microseconds d) {
  std::lock_guard lock(state_->mu);
  state_->now += d;
}

}  // namespace tidemark::model
