#include "pod/autoscaler.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using routemq::detail::busy_trend;

namespace {

const routemq::detail::scaling_marks marks{0.8, 0.3, 3s, 5s};
const routemq::detail::worker_range range{1, 3, true};

}  // namespace

TEST(Autoscaler, AddsAWorkerOnlyOnceTheBusyRatioHeldAboveTheHighMark) {
    busy_trend trend;
    const auto t0 = busy_trend::clock::time_point{} + 1h;
    EXPECT_EQ(trend.observe(0.9, 1, range, marks, t0), 0);
    EXPECT_EQ(trend.observe(0.95, 1, range, marks, t0 + 2s), 0);
    EXPECT_EQ(trend.observe(0.5, 1, range, marks, t0 + 3s), 0) << "a dip starts the hold over";
    EXPECT_EQ(trend.observe(0.9, 1, range, marks, t0 + 4s), 0);
    EXPECT_EQ(trend.observe(0.9, 1, range, marks, t0 + 7s), 1);
    EXPECT_EQ(trend.observe(0.9, 2, range, marks, t0 + 8s), 0) << "after a change, a new hold";
    EXPECT_EQ(trend.observe(0.9, 2, range, marks, t0 + 10s), 1);
    EXPECT_EQ(trend.observe(1.0, 3, range, marks, t0 + 20s), 0) << "at max_workers";
}

TEST(Autoscaler, RemovesAWorkerOnlyOnceTheBusyRatioHeldBelowTheLowMarkAndNeverPastTheMinimum) {
    busy_trend trend;
    const auto t0 = busy_trend::clock::time_point{} + 1h;
    EXPECT_EQ(trend.observe(0.1, 3, range, marks, t0), 0);
    EXPECT_EQ(trend.observe(0.1, 3, range, marks, t0 + 4s), 0);
    EXPECT_EQ(trend.observe(0.1, 3, range, marks, t0 + 5s), -1);
    EXPECT_EQ(trend.observe(0.1, 2, range, marks, t0 + 6s), 0);
    EXPECT_EQ(trend.observe(0.1, 2, range, marks, t0 + 10s), -1);
    EXPECT_EQ(trend.observe(0.0, 1, range, marks, t0 + 60s), 0) << "at min_workers";
    EXPECT_EQ(trend.observe(0.5, 2, range, marks, t0 + 61s), 0) << "between the marks: nothing";
}
