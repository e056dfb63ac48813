#pragma once

#include <chrono>
#include <optional>

#include "pod/pod_plan.hpp"

namespace routemq::detail {

/// When an autoscaled route gains or loses a worker (AUTOSCALE_BUSY_*_PERCENT,
/// AUTOSCALE_*_AFTER_SECONDS).
struct scaling_marks {
    /// Busy ratios: time in handlers over wall time of the processes serving the route.
    double high = 0.8;
    double low = 0.3;
    std::chrono::milliseconds up_after{10000};
    std::chrono::milliseconds down_after{60000};
};

/// The decision of one route's autoscaler from the busy ratios sampled every second: a worker is
/// added once the ratio has stayed above the high mark for `up_after`, removed once it has stayed
/// below the low mark for `down_after`; after a change the hold starts over. Pure: time comes in.
class busy_trend {
public:
    using clock = std::chrono::steady_clock;

    /// +1: add a worker; -1: remove one; 0: keep them. `workers` is how many serve it now.
    int observe(double busy, int workers, const worker_range& range, const scaling_marks& marks,
                clock::time_point now);

    /// Forgets the runs so far: after a change made by hand both holds start over.
    void reset() noexcept {
        above_since_.reset();
        below_since_.reset();
    }

    /// How long the current run above or below a mark has lasted (0 when there is none).
    std::chrono::milliseconds held(clock::time_point now) const;

private:
    std::optional<clock::time_point> above_since_;
    std::optional<clock::time_point> below_since_;
};

}  // namespace routemq::detail
