#pragma once

// Clock: the one source of "now" for everything that schedules, ages or times out, so tests
// can drive time by hand. Implementations are thread-safe.

#include <memory>

#include "tidemark/model/time.h"

namespace tidemark::model {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The wall clock (std::chrono::system_clock). The returned object lives for the program.
Clock& SystemClock();

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start);
  Timestamp Now() const override;
  void Set(Timestamp t);
  void Advance(std::chrono::microseconds d);

 private:
  struct State;
  std::unique_ptr<State> state_;

 public:
  ~ManualClock() override;
};

}  // namespace tidemark::model
