#include "pod/autoscaler.hpp"

namespace routemq::detail {

int busy_trend::observe(double busy, int workers, const worker_range& range,
                        const scaling_marks& marks, clock::time_point now) {
    if (busy > marks.high) {
        below_since_.reset();
        if (!above_since_) {
            above_since_ = now;
        }
        if (workers < range.max && now - *above_since_ >= marks.up_after) {
            above_since_ = now;
            return 1;
        }
        return 0;
    }
    if (busy < marks.low) {
        above_since_.reset();
        if (!below_since_) {
            below_since_ = now;
        }
        if (workers > range.min && now - *below_since_ >= marks.down_after) {
            below_since_ = now;
            return -1;
        }
        return 0;
    }
    above_since_.reset();
    below_since_.reset();
    return 0;
}

std::chrono::milliseconds busy_trend::held(clock::time_point now) const {
    const auto since = above_since_ ? above_since_ : below_since_;
    return since ? std::chrono::duration_cast<std::chrono::milliseconds>(now - *since)
                 : std::chrono::milliseconds(0);
}

}  // namespace routemq::detail
