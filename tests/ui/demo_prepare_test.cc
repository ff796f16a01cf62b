#include "demo.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "catalog/test_stores.h"
#include "tidemark/model/clock.h"
#include "tidemark/pipeline/demo_data.h"

// What the demo shows must not depend on the minute it is started: its history is anchored
// at the hour (DemoAnchor), but detection runs at the real now, up to 59 minutes later. A
// source whose SLA sits within that gap of its cadence raises a sixth, spurious incident at
// the end of every hour (CI once ran at 05:57 and saw one). Likewise the zero-load weekend
// must have recovered whatever the day (on Mondays it once had not). Here PrepareDemo runs
// with a manual clock at both edges of an hour and on the days of the week that move the
// injected weekend incident; a one-off sweep of every hour of a week at :00, :29 and :59
// passed too.

namespace tidemark::ui {
namespace {

using model::Timestamp;

struct Case {
  const char* now;
  const char* why;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.now; }

class DemoPrepareTest : public ::testing::TestWithParam<Case> {};

TEST_P(DemoPrepareTest, ShowsExactlyTheFiveInjectedIncidentsWhateverTheMinute) {
  const Timestamp now = *model::ParseTimestamp(GetParam().now);
  SCOPED_TRACE(std::string(GetParam().now) + ": " + GetParam().why);
  catalog::testing::SqliteFileFactory factory;
  model::ManualClock clock(now);
  auto store = factory.Open(&clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const DemoPaths paths = DemoPathsFor("sqlite:" + (factory.dir->path() / "demo.db").string());
  // Only the local alert log: the signed receiver needs a running server.
  pipeline::RoutingConfig routing = DemoRouting(paths, "http://127.0.0.1:9/", "secret");
  routing.channels.resize(1);
  routing.routes[0].channels = {routing.channels[0].name};

  auto outcome = PrepareDemo(**store, clock, routing, paths.report_dir);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();

  // Each incident's root is where one injected problem happened; nothing else opened one.
  std::map<std::string, std::string> state_by_root;
  std::string listed;
  for (const model::Incident& i : outcome->incidents) {
    state_by_root[i.root.ToString()] = std::string(model::IncidentStateName(i.state));
    listed += DemoIncidentLine(i) + "\n";
  }
  EXPECT_EQ(outcome->incidents.size(), 5u) << listed;
  EXPECT_EQ(outcome->open_incidents, 3) << listed;
  std::map<std::string, std::string> expected;
  for (const pipeline::DemoIncident& injected : pipeline::DemoIncidents(now)) {
    const bool over = injected.name == "purchases_halved" || injected.name == "exchange_rates_zero";
    expected[injected.asset.ToString()] = over ? "resolved" : "open";
  }
  EXPECT_EQ(state_by_root, expected) << listed;
  EXPECT_FALSE(outcome->report_file.empty());
}

INSTANTIATE_TEST_SUITE_P(
    HourEdges, DemoPrepareTest,
    ::testing::Values(Case{"2026-12-06T05:57:49Z", "Sunday, where CI saw a sixth incident"},
                      Case{"2026-12-06T05:59:59Z", "Sunday, the last second of the hour"},
                      Case{"2026-12-06T06:00:01Z", "Sunday, the first second of the next"},
                      Case{"2026-11-25T23:59:30Z", "Wednesday, just before midnight"},
                      Case{"2026-11-28T12:58:00Z", "Saturday, inside the zero weekend"},
                      Case{"2026-11-30T12:29:00Z",
                           "Monday: the weekend just ended has one good load since"},
                      Case{"2026-12-01T03:00:00Z", "Tuesday before the nightly dbt build"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return "At" + std::to_string(info.index);
    });

}  // namespace
}  // namespace tidemark::ui
