#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letters/dead_letter.hpp"
#include "delivery/counters.hpp"
#include "delivery/outbox.hpp"
#include "delivery/replies.hpp"
#include "routemq/message.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"
#include "routing/subscriptions.hpp"
#include "routing/topic_trie.hpp"

namespace routemq::detail {

/// A message's fingerprint for the poison rule: route, topic and payload, never 0.
std::uint64_t message_digest(std::size_t route, std::string_view topic,
                             std::string_view payload) noexcept;

/// The dead-letter topic for `topic`: `pattern` with `{topic}` replaced. When that is not a valid
/// topic name (longer than 65,535 bytes, say), `{topic}` is replaced by
/// `routemq-digest/<16 hex digits of the topic's digest>` instead and `fallback` says why.
std::string dead_letter_topic(std::string_view pattern, std::string_view topic,
                              std::string* fallback = nullptr);

/// How long the dispatcher waits for the broker to confirm a message's results or its dead
/// letter before it gives up on the process (see dispatch()).
inline constexpr std::chrono::seconds kConfirmTimeout{30};

/// Chooses the routes for each delivery and runs them, catching every failure.
///
/// A delivery carrying MQTT 5 subscription identifiers runs the routes of exactly those
/// subscriptions; one without (MQTT 3.1.1) runs every served route whose filter matches its
/// topic, found in a topic trie. Either way a route runs at most once per delivery.
///
/// A handler that throws is retried in place (the message is not acknowledged meanwhile); after
/// the last attempt, on a payload error, or for a message that killed too many workers, the
/// message goes to the dead-letter topic. dispatch() returns, and the message is acknowledged,
/// only once the broker confirmed what the handlers published (or the dead letter).
class dispatcher {
public:
    /// Serves `served` (indexes into r.routes()) through `subscriptions` (their
    /// plan_subscriptions), naming itself `process_name` to handlers and counting into `counters`;
    /// route options left unset take their value from `handling`. `r` and `counters` must
    /// outlive it.
    dispatcher(const router& r, std::vector<std::size_t> served,
               std::vector<subscription> subscriptions, std::string process_name,
               dispatch_counters& counters, const handling_settings& handling);

    /// The subscriptions to make for the served routes, in identifier order.
    const std::vector<subscription>& subscriptions() const noexcept { return subscriptions_; }
    /// Indexes into router::routes() of the routes served.
    const std::vector<std::size_t>& served() const noexcept { return served_; }
    const std::string& process_name() const noexcept { return process_; }

    /// Runs every route the delivery is for, once each. Never throws: bad payloads, handler
    /// errors and unmatched topics are logged and counted. When the broker does not confirm the
    /// results or a dead letter within kConfirmTimeout, the process exits (status 75) without
    /// acknowledging the message, so that it is delivered again.
    void dispatch(const message& msg, outbox& out) noexcept;

    /// Names this process's outgoing connection. Handlers publish on a connection of their own
    /// (see outbox), so the broker's No Local, which is per connection, no longer keeps a
    /// process's own publishes from its `no_local` routes: when it serves such a route, the
    /// dispatcher tags what handlers publish with a `routemq-origin` user property and does not
    /// run `no_local` routes on deliveries that carry its own tag (MQTT 5).
    void set_origin(std::string origin) { origin_ = std::move(origin); }

    /// Keeps every dead letter also in the dead-letter store under `store_prefix`
    /// (dead_letters/dead_letter.hpp), retained, confirmed with the dead letter itself; empty:
    /// dead letters are not kept.
    void keep_dead_letters(std::string store_prefix) { store_prefix_ = std::move(store_prefix); }

    /// Replaces the wait before a retry (by default the thread sleeps): routemq::testing's
    /// harness records the waits instead, so that a test of a retrying route takes no time.
    void set_retry_wait(std::function<void(std::chrono::milliseconds)> wait) {
        retry_wait_ = std::move(wait);
    }

    /// A route's options with the settings' defaults filled in.
    struct route_policy {
        std::chrono::milliseconds timeout{0};
        retry_policy retry;
        std::string dead_letter_topic;
    };
    const route_policy& policy(std::size_t route) const { return policies_.at(route); }

private:
    /// One run of the chain; the error text when it failed, whether the handler replied, and
    /// whether another run is pointless (it failed on a routemq::publish_error: what it publishes
    /// cannot be published, and would not be the next time either).
    outcome run_once(std::size_t index, routemq::params& params, const message& msg, outbox& out,
                     std::string& error, bool& replied, bool& hopeless) noexcept;
    void run_route(std::size_t index, std::string_view topic, const message& msg,
                   outbox& out) noexcept;
    void dead_letter(std::size_t index, std::string_view topic, const message& msg, outbox& out,
                     dead_letter_reason why, const std::string& error, int attempts) noexcept;
    /// Publishes the kept copy of a dead letter to the store; returns its topic, empty when it
    /// could not be sent (logged: the dead letter itself still goes).
    std::string keep_dead_letter(const message& msg, std::string_view topic, outbox& out,
                                 const dead_letter_facts& facts);
    /// Waits for the broker to have what was published; exits the process when it does not
    /// answer in time. Returns what it refused, after logging and counting it for `route`.
    std::vector<refused_publish> confirm_or_exit(outbox& out, std::size_t route,
                                                 std::string_view topic, const char* what) noexcept;
    /// Sends a status to the request's caller; logs rather than throws when it cannot.
    void try_send_status(outbox& out, const message& request, std::string_view status,
                         std::string_view payload) noexcept;

    const router& router_;
    std::vector<std::size_t> served_;
    std::vector<subscription> subscriptions_;
    std::string process_;
    dispatch_counters& counters_;
    /// Indexed like router::routes(); only served routes are filled in.
    std::vector<route_policy> policies_;
    int poison_max_crashes_;
    /// Set when a served route has no_local: the tag of this process's publishes.
    std::string origin_;
    std::string store_prefix_;
    /// Tells apart the ids of dead letters this process keeps within one millisecond.
    std::atomic<std::uint64_t> kept_{0};
    bool any_no_local_ = false;
    int json_max_depth_;
    topic_trie by_filter_;
    reply_policy replies_;
    /// Empty: sleep.
    std::function<void(std::chrono::milliseconds)> retry_wait_;
};

}  // namespace routemq::detail
