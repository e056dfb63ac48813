#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/shared_metrics.hpp"
#include "routemq/dispatcher.hpp"
#include "routemq/mqtt_client.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// One process's MQTT side: the routes it serves, their dispatcher and its client.
class endpoint {
public:
    /// `role` is `main` or `w<slot>`; workers keep a persistent session. The endpoint counts
    /// into, and reports its connection state to, `slot` of `metrics`.
    endpoint(const settings& s, const router& r, const std::string& role,
             std::vector<std::size_t> routes, bool persistent_session,
             std::shared_ptr<shared_metrics> metrics, std::size_t slot);

    void start() { client_.start(); }
    subscribe_result wait_subscribed(std::chrono::milliseconds timeout) {
        return client_.wait_subscribed(timeout);
    }
    /// Graceful stop: optionally unsubscribe first (so the broker stops sending), let the handler
    /// in progress finish, then disconnect ending the session.
    void stop(std::chrono::milliseconds timeout, bool unsubscribe_first);

    const dispatcher& routes() const noexcept { return dispatcher_; }
    void log_stats() const;

private:
    dispatcher dispatcher_;
    // Before client_: its state handler uses it until the client is destroyed.
    std::atomic<std::uint64_t> reconnects_seen_{0};
    mqtt_client client_;
};

}  // namespace routemq::detail
