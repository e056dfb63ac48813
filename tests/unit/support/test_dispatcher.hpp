#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "delivery/counters.hpp"
#include "delivery/dispatcher.hpp"
#include "routemq/settings.hpp"
#include "routing/subscriptions.hpp"

namespace test {

/// The dispatcher's counters as plain numbers: no shared memory.
struct plain_counters : routemq::detail::dispatch_counters {
    std::uint64_t received_total = 0;
    std::uint64_t no_route_total = 0;
    std::uint64_t handled = 0;
    std::uint64_t bad_payload = 0;
    std::uint64_t handler_error = 0;
    std::uint64_t retries = 0;
    /// Dead letters by reason name.
    std::map<std::string, int> dead_letters;
    /// Runs per route index, whatever the outcome.
    std::map<std::size_t, int> runs;
    /// Answer of crashes(): the poison table as a manager would fill it.
    std::map<std::uint64_t, int> crashed;
    /// begin() calls not yet ended.
    int in_hand = 0;
    std::uint64_t publishes_refused_total = 0;
    std::uint64_t replies_refused_total = 0;

    void received() noexcept override { ++received_total; }
    void no_route() noexcept override { ++no_route_total; }
    void ran(std::size_t route, routemq::detail::outcome result, std::uint64_t) noexcept override {
        ++runs[route];
        switch (result) {
            case routemq::detail::outcome::handled:
                ++handled;
                break;
            case routemq::detail::outcome::bad_payload:
                ++bad_payload;
                break;
            case routemq::detail::outcome::handler_error:
                ++handler_error;
                break;
        }
    }
    void retried(std::size_t) noexcept override { ++retries; }
    void dead_lettered(std::size_t, routemq::detail::dead_letter_reason why) noexcept override {
        ++dead_letters[std::string(routemq::detail::reason_name(why))];
    }
    void publishes_refused(std::size_t, std::size_t count) noexcept override {
        publishes_refused_total += count;
    }
    void reply_refused(std::size_t) noexcept override { ++replies_refused_total; }
    void begin(std::size_t, std::string_view, std::uint64_t,
               std::chrono::milliseconds) noexcept override {
        ++in_hand;
    }
    void end() noexcept override { --in_hand; }
    int crashes(std::uint64_t digest, std::string& last_cause) const override {
        const auto it = crashed.find(digest);
        if (it == crashed.end()) {
            return 0;
        }
        last_cause = "killed by signal 11 (Segmentation fault)";
        return it->second;
    }
};

/// The default handling settings, with retries that do not wait (unit tests stay fast).
inline routemq::handling_settings quick_handling() {
    auto h = routemq::load_settings({}, {}).handling;
    h.retry_backoff = std::chrono::milliseconds(0);
    h.retry_backoff_max = std::chrono::milliseconds(0);
    return h;
}

struct counters_holder {
    plain_counters counters;
};

/// A dispatcher over `served` routes (all by default) with its subscription plan, counting into
/// plain numbers; what a process's endpoint builds, minus the client and the metrics region.
class test_dispatcher : private counters_holder, public routemq::detail::dispatcher {
public:
    explicit test_dispatcher(const routemq::router& r, const std::string& group = "g",
                             const std::string& process = "main")
        : test_dispatcher(r, group, process, routemq::detail::every_route(r)) {}
    test_dispatcher(const routemq::router& r, const std::string& group, const std::string& process,
                    const std::vector<std::size_t>& served,
                    const routemq::handling_settings& handling = quick_handling())
        : dispatcher(r, served, routemq::detail::plan_subscriptions(r, served, group), process,
                     counters_holder::counters, handling) {}

    const plain_counters& counts() const noexcept { return counters_holder::counters; }
    plain_counters& counts() noexcept { return counters_holder::counters; }
};

}  // namespace test
