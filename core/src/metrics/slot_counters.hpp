#pragma once

#include <memory>

#include "metrics/shared_metrics.hpp"
#include "routing/counters.hpp"

namespace routemq::detail {

/// The dispatcher's counters for one process: its slot of the pod's shared metrics region.
class slot_counters final : public dispatch_counters {
public:
    slot_counters(std::shared_ptr<shared_metrics> metrics, std::size_t slot)
        : metrics_(std::move(metrics)), slot_(slot) {}

    void received() noexcept override {
        metrics_->process(slot_).received.fetch_add(1, std::memory_order_relaxed);
    }
    void no_route() noexcept override {
        metrics_->process(slot_).no_route.fetch_add(1, std::memory_order_relaxed);
    }
    void ran(std::size_t route, outcome result, std::uint64_t duration_ns) noexcept override {
        metrics_->record(slot_, route, result, duration_ns);
    }

    shared_metrics& metrics() const noexcept { return *metrics_; }
    std::size_t slot() const noexcept { return slot_; }

private:
    std::shared_ptr<shared_metrics> metrics_;
    std::size_t slot_;
};

}  // namespace routemq::detail
