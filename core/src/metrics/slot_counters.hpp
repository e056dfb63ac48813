#pragma once

#include <memory>

#include "delivery/counters.hpp"
#include "pod/pod_region.hpp"
#include "pod/protocol.hpp"

namespace routemq::detail {

/// The dispatcher's counters for one process: its slot of the pod's shared metrics region.
class slot_counters final : public dispatch_counters {
public:
    slot_counters(std::shared_ptr<pod_region> metrics, std::size_t slot)
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
    void retried(std::size_t route) noexcept override {
        metrics_->route(slot_, route).retries.fetch_add(1, std::memory_order_relaxed);
    }
    void dead_lettered(std::size_t route, dead_letter_reason why) noexcept override {
        metrics_->route(slot_, route)
            .dead_letters[static_cast<std::size_t>(why)]
            .fetch_add(1, std::memory_order_relaxed);
    }
    void publishes_refused(std::size_t route, std::size_t count) noexcept override {
        metrics_->route(slot_, route).publishes_refused.fetch_add(count, std::memory_order_relaxed);
    }
    void reply_refused(std::size_t route) noexcept override {
        metrics_->route(slot_, route).replies_refused.fetch_add(1, std::memory_order_relaxed);
    }
    void begin(std::size_t route, std::string_view topic, std::uint64_t digest,
               std::chrono::milliseconds timeout) noexcept override {
        metrics_->begin_work(slot_, route, topic, digest, timeout);
    }
    void end() noexcept override { metrics_->end_work(slot_); }
    int crashes(std::uint64_t digest, std::string& last_cause) const override {
        std::int32_t status = 0;
        const int n = metrics_->crashes(digest, status);
        if (n > 0) {
            last_cause = describe_recorded(status);
        }
        return n;
    }

    pod_region& metrics() const noexcept { return *metrics_; }
    std::size_t slot() const noexcept { return slot_; }

private:
    std::shared_ptr<pod_region> metrics_;
    std::size_t slot_;
};

}  // namespace routemq::detail
