#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/dispatcher.hpp"
#include "delivery/trace_context.hpp"
#include "metrics/slot_counters.hpp"
#include "mqtt/main_connection.hpp"
#include "mqtt/outgoing_connection.hpp"
#include "pod/priority_gate.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// One process's MQTT side: the routes it serves, their dispatcher and its client.
class endpoint {
public:
    /// `role` is `main` or `w<slot>`; workers keep a persistent session. The endpoint counts
    /// into, and reports its connection state to, `slot` of `metrics`.
    /// `gate`: with routes of several priorities in one worker, the gate every handler run
    /// passes (priority_gate.hpp); null otherwise.
    endpoint(const settings& s, const router& r, const std::string& role,
             std::vector<std::size_t> routes, bool persistent_session,
             std::shared_ptr<pod_region> metrics, std::size_t slot,
             std::unique_ptr<priority_gate> gate = nullptr);

    void start() { client_.start(); }
    /// Once subscribed, also opens the outgoing connection, so the first handler does not wait
    /// for it.
    subscribe_result wait_subscribed(std::chrono::milliseconds timeout) {
        auto result = client_.wait_subscribed(timeout);
        if (result.complete && !out_opened_) {
            out_opened_ = true;
            out_.connect(std::chrono::seconds(2));
        }
        return result;
    }
    /// Graceful stop: optionally unsubscribe first (so the broker stops sending), let the handler
    /// in progress finish, then disconnect, ending the session when `end_session`. While it waits
    /// for what the broker had queued, `abandon` (asked every 20 ms) can cut that short: then the
    /// session is kept, for whoever takes the slot over.
    void stop(std::chrono::milliseconds timeout, bool unsubscribe_first, bool end_session = true,
              const std::function<bool()>& abandon = {});

    const dispatcher& routes() const noexcept { return dispatcher_; }
    /// When the handler in hand reaches its timeout; nullopt when none runs or it has no
    /// timeout. With no manager to watch it (the manager is gone), the worker ends itself then.
    std::optional<std::chrono::steady_clock::time_point> handler_deadline() const;
    /// Logs the slot's totals: received, handled, unrouted, bad payloads, handler errors.
    void log_stats() const;

private:
    /// Handles one message: through the gate when there is one.
    void handle(const message& m);

    slot_counters counters_;
    std::unique_ptr<priority_gate> gate_;
    dispatcher dispatcher_;
    // Before client_: its state handler uses it until the client is destroyed.
    std::atomic<std::uint64_t> reconnects_seen_{0};
    std::atomic<std::uint64_t> connect_failures_seen_{0};
    /// What handlers publish and dead letters, on a connection of its own so that the dispatcher
    /// can wait for the broker to have them before the input is acknowledged.
    outgoing_connection out_;
    /// out_ as handlers and the dispatcher see it: it adds the trace of the message in hand.
    tracing_outbox traced_out_{out_};
    bool out_opened_ = false;
    main_connection client_;
};

}  // namespace routemq::detail
