#include "routing/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "routemq/context.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {

dispatcher::dispatcher(const router& r, std::vector<std::size_t> served,
                       std::vector<subscription> subscriptions, std::string process_name,
                       dispatch_counters& counters)
    : router_(r),
      served_(std::move(served)),
      subscriptions_(std::move(subscriptions)),
      process_(std::move(process_name)),
      counters_(counters) {
    for (auto index : served_) {
        by_filter_.insert(r.routes().at(index).pattern.filter(), index);
    }
}

void dispatcher::dispatch(const message& msg, publisher& client) noexcept {
    counters_.received();
    const std::string_view topic = strip_share_prefix(msg.topic);
    bool any = false;
    if (!msg.subscription_ids.empty()) {
        // MQTT 5: each identifier names the subscription this copy was sent for; a route runs
        // once per delivery even if a broker repeats an identifier.
        const auto& ids = msg.subscription_ids;
        for (auto it = ids.begin(); it != ids.end(); ++it) {
            const int id = *it;
            if (id < 1 || id > static_cast<int>(subscriptions_.size()) ||
                std::find(ids.begin(), it, id) != it) {
                continue;
            }
            for (auto index : subscriptions_[static_cast<std::size_t>(id - 1)].routes) {
                any = true;
                run_route(index, topic, msg, client);
            }
        }
    } else {
        std::vector<std::size_t> matched;
        try {
            by_filter_.match(topic, matched);
        } catch (...) {
            matched.clear();  // out of memory: counted below as unrouted rather than thrown
        }
        for (auto index : matched) {
            any = true;
            run_route(index, topic, msg, client);
        }
    }
    if (!any) {
        counters_.no_route();
        spdlog::warn("no route for topic '{}' ({} bytes); message dropped", topic,
                     msg.payload.size());
    }
}

void dispatcher::run_route(std::size_t index, std::string_view topic, const message& msg,
                           publisher& client) noexcept {
    const auto& rt = router_.routes()[index];
    const auto started = std::chrono::steady_clock::now();
    auto result = outcome::handled;
    try {
        context ctx(msg, rt.pattern.text(), client, process_);
        if (!rt.pattern.match(topic, ctx.params())) {
            counters_.no_route();
            spdlog::warn("topic '{}' does not match route '{}' it was delivered for; dropped",
                         topic, rt.pattern.text());
            return;
        }
        rt.chain(ctx);
    } catch (const payload_error& e) {
        result = outcome::bad_payload;
        spdlog::warn("bad payload on topic '{}' for route '{}': {}", topic, rt.pattern.text(),
                     e.what());
    } catch (const std::exception& e) {
        result = outcome::handler_error;
        spdlog::error("handler {} failed on topic '{}' (route '{}'): {}", rt.handler_name, topic,
                      rt.pattern.text(), e.what());
    } catch (...) {
        result = outcome::handler_error;
        spdlog::error("handler {} failed on topic '{}' (route '{}'): unknown exception",
                      rt.handler_name, topic, rt.pattern.text());
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    counters_.ran(index, result,
                  static_cast<std::uint64_t>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
}

}  // namespace routemq::detail
