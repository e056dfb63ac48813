#include "routemq/dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <numeric>

#include "metrics/shared_metrics.hpp"
#include "routemq/errors.hpp"

namespace routemq {

std::string_view strip_share_prefix(std::string_view topic) noexcept {
    constexpr std::string_view kShare = "$share/";
    if (topic.substr(0, kShare.size()) != kShare) {
        return topic;
    }
    auto group_end = topic.find('/', kShare.size());
    return group_end == std::string_view::npos ? topic : topic.substr(group_end + 1);
}

std::string subscription_topic(const route& r, std::string_view group_name) {
    if (r.options.shared) {
        return fmt::format("$share/{}/{}", group_name, r.pattern.filter());
    }
    return r.pattern.filter();
}

namespace {
std::vector<std::size_t> every_route(const router& r) {
    std::vector<std::size_t> all(r.routes().size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
}
}  // namespace

dispatcher::dispatcher(const router& r, std::string group_name, std::string process_name)
    : dispatcher(r, std::move(group_name), std::move(process_name), every_route(r)) {}

dispatcher::dispatcher(const router& r, std::string group_name, std::string process_name,
                       std::vector<std::size_t> served,
                       std::shared_ptr<detail::shared_metrics> metrics, std::size_t slot)
    : router_(r),
      group_(std::move(group_name)),
      process_(std::move(process_name)),
      served_(std::move(served)),
      metrics_(metrics ? std::move(metrics) : detail::shared_metrics::create(1, r.routes().size())),
      slot_(slot) {
    if (slot_ >= metrics_->processes() || metrics_->routes() != r.routes().size()) {
        throw error(fmt::format("dispatcher: metrics slot {} of {} for {} routes does not fit",
                                slot_, metrics_->processes(), metrics_->routes()));
    }
    for (auto index : served_) {
        const auto& rt = r.routes().at(index);
        auto topic = subscription_topic(rt, group_);
        auto same = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                                 [&](const subscription& s) { return s.topic == topic; });
        if (same == subscriptions_.end()) {
            const int id = static_cast<int>(subscriptions_.size()) + 1;
            subscriptions_.push_back({std::move(topic), rt.options.qos, id, {index}});
        } else {
            same->qos = std::max(same->qos, rt.options.qos);
            same->routes.push_back(index);
        }
    }
}

std::vector<std::string> dispatcher::overlap_warnings() const {
    std::vector<std::string> out;
    const auto& routes = router_.routes();
    for (std::size_t i = 0; i < served_.size(); ++i) {
        for (std::size_t j = i + 1; j < served_.size(); ++j) {
            const auto& a = routes[served_[i]];
            const auto& b = routes[served_[j]];
            if (filters_overlap(a.pattern.filter(), b.pattern.filter())) {
                out.push_back(fmt::format(
                    "routes '{}' and '{}' overlap: a message matching both is handled by each",
                    a.pattern.text(), b.pattern.text()));
            }
        }
    }
    return out;
}

dispatch_stats dispatcher::stats() const noexcept {
    dispatch_stats out;
    const auto& p = metrics_->process(slot_);
    out.received = p.received.load();
    out.no_route = p.no_route.load();
    for (auto index : served_) {
        const auto& r = metrics_->route(slot_, index);
        out.handled += r.handled.load();
        out.bad_payload += r.bad_payload.load();
        out.handler_error += r.handler_error.load();
    }
    return out;
}

void dispatcher::dispatch(const message& msg, publisher& client) noexcept {
    auto& counters = metrics_->process(slot_);
    counters.received.fetch_add(1, std::memory_order_relaxed);
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
            for (auto index : subscriptions_[id - 1].routes) {
                any = true;
                run_route(index, topic, msg, client);
            }
        }
    } else {
        for (auto index : served_) {
            if (router_.routes()[index].pattern.matches(topic)) {
                any = true;
                run_route(index, topic, msg, client);
            }
        }
    }
    if (!any) {
        counters.no_route.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("no route for topic '{}' ({} bytes); message dropped", topic,
                     msg.payload.size());
    }
}

void dispatcher::run_route(std::size_t index, std::string_view topic, const message& msg,
                           publisher& client) noexcept {
    using outcome = detail::shared_metrics::outcome;
    const auto& rt = router_.routes()[index];
    const auto started = std::chrono::steady_clock::now();
    auto result = outcome::handled;
    try {
        context ctx(msg, rt.pattern.text(), client, process_);
        if (!rt.pattern.match(topic, ctx.params())) {
            metrics_->process(slot_).no_route.fetch_add(1, std::memory_order_relaxed);
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
    metrics_->record(slot_, index, result,
                     static_cast<std::uint64_t>(
                         std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
}

}  // namespace routemq
