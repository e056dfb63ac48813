#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routemq/message.hpp"
#include "routemq/router.hpp"
#include "routing/counters.hpp"
#include "routing/subscriptions.hpp"
#include "routing/topic_trie.hpp"

namespace routemq::detail {

/// Chooses the routes for each delivery and runs them, catching every failure.
///
/// A delivery carrying MQTT 5 subscription identifiers runs the routes of exactly those
/// subscriptions; one without (MQTT 3.1.1) runs every served route whose filter matches its
/// topic, found in a topic trie. Either way a route runs at most once per delivery.
class dispatcher {
public:
    /// Serves `served` (indexes into r.routes()) through `subscriptions` (their
    /// plan_subscriptions), naming itself `process_name` to handlers and counting into `counters`;
    /// `r` and `counters` must outlive it.
    dispatcher(const router& r, std::vector<std::size_t> served,
               std::vector<subscription> subscriptions, std::string process_name,
               dispatch_counters& counters);

    /// The subscriptions to make for the served routes, in identifier order.
    const std::vector<subscription>& subscriptions() const noexcept { return subscriptions_; }
    /// Indexes into router::routes() of the routes served.
    const std::vector<std::size_t>& served() const noexcept { return served_; }
    const std::string& process_name() const noexcept { return process_; }

    /// Runs every route the delivery is for, once each. Never throws: bad payloads, handler
    /// errors and unmatched topics are logged and counted.
    void dispatch(const message& msg, publisher& client) noexcept;

private:
    void run_route(std::size_t index, std::string_view topic, const message& msg,
                   publisher& client) noexcept;

    const router& router_;
    std::vector<std::size_t> served_;
    std::vector<subscription> subscriptions_;
    std::string process_;
    dispatch_counters& counters_;
    topic_trie by_filter_;
};

}  // namespace routemq::detail
