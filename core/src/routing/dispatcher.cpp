#include "routing/dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "routemq/context.hpp"
#include "routemq/errors.hpp"
#include "routing/replies.hpp"
#include "routing/trace_context.hpp"

namespace routemq::detail {
namespace {

/// Exit status of a process whose broker did not confirm what a handled message produced: the
/// message was not acknowledged, so it is delivered again (to this slot once it is restarted).
constexpr int kExitUnconfirmed = 75;

/// What handlers publish, tagged with this process's origin (see dispatcher::set_origin).
class tagging_outbox final : public outbox {
public:
    tagging_outbox(outbox& out, const std::string& origin) : out_(out), origin_(origin) {}
    void publish(const std::string& topic, std::string_view payload, int qos,
                 bool retain) override {
        publish_properties p;
        p.user_properties.emplace_back(kOriginProperty, origin_);
        out_.publish(topic, payload, qos, retain, p);
    }
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const publish_properties& properties) override {
        auto p = properties;
        p.user_properties.emplace_back(kOriginProperty, origin_);
        out_.publish(topic, payload, qos, retain, p);
    }
    bool confirm(std::chrono::milliseconds timeout) noexcept override {
        return out_.confirm(timeout);
    }
    static constexpr const char* kOriginProperty = "routemq-origin";

private:
    outbox& out_;
    const std::string& origin_;
};

/// Whether `msg` was published by a handler of the process tagged `origin`.
bool published_by(const message& msg, const std::string& origin) {
    return std::any_of(msg.user_properties.begin(), msg.user_properties.end(), [&](const auto& p) {
        return p.first == tagging_outbox::kOriginProperty && p.second == origin;
    });
}

/// The wait before retry number `retry` (1-based): backoff doubled per retry, capped, jittered.
std::chrono::milliseconds retry_wait(const retry_policy& p, int retry) {
    auto wait = static_cast<double>(p.backoff.count());
    for (int i = 1; i < retry && wait < static_cast<double>(p.backoff_max.count()); ++i) {
        wait *= 2;
    }
    wait = std::min(wait, static_cast<double>(p.backoff_max.count()));
    if (p.jitter > 0) {
        thread_local std::minstd_rand random{std::random_device{}()};
        std::uniform_real_distribution<double> spread(1.0 - p.jitter, 1.0 + p.jitter);
        wait *= spread(random);
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(wait));
}

}  // namespace

std::uint64_t message_digest(std::size_t route, std::string_view topic,
                             std::string_view payload) noexcept {
    // FNV-1a, 64 bits: stable across processes and runs, which std::hash does not promise.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    const auto mix = [&h](std::string_view bytes) {
        for (const unsigned char c : bytes) {
            h = (h ^ c) * 0x100000001b3ULL;
        }
    };
    mix(std::string_view(reinterpret_cast<const char*>(&route), sizeof(route)));
    mix(topic);
    mix(std::string_view("\0", 1));
    mix(payload);
    return h == 0 ? 1 : h;
}

std::string dead_letter_topic(std::string_view pattern, std::string_view topic) {
    std::string out(pattern);
    constexpr std::string_view kPlaceholder = "{topic}";
    for (auto at = out.find(kPlaceholder); at != std::string::npos;
         at = out.find(kPlaceholder, at + topic.size())) {
        out.replace(at, kPlaceholder.size(), topic);
    }
    return out;
}

dispatcher::dispatcher(const router& r, std::vector<std::size_t> served,
                       std::vector<subscription> subscriptions, std::string process_name,
                       dispatch_counters& counters, const handling_settings& handling)
    : router_(r),
      served_(std::move(served)),
      subscriptions_(std::move(subscriptions)),
      process_(std::move(process_name)),
      counters_(counters),
      policies_(r.routes().size()),
      poison_max_crashes_(handling.poison_max_crashes),
      json_max_depth_(handling.json_max_depth) {
    for (auto index : served_) {
        const auto& options = r.routes().at(index).options;
        by_filter_.insert(r.routes()[index].pattern.filter(), index);
        any_no_local_ = any_no_local_ || options.no_local;
        auto& p = policies_[index];
        p.timeout = options.timeout.value_or(handling.timeout);
        p.retry = options.retry.value_or(retry_policy{
            handling.retry_attempts, handling.retry_backoff, handling.retry_backoff_max, 0.2});
        p.dead_letter_topic = options.dead_letter_topic.empty() ? handling.dead_letter_topic
                                                                : options.dead_letter_topic;
    }
}

void dispatcher::dispatch(const message& msg, outbox& out) noexcept {
    counters_.received();
    const std::string_view topic = strip_share_prefix(msg.topic);
    // Log lines about the delivery carry its trace; each route's run gets a span of its own.
    const auto trace = begin_trace(msg, topic);
    const trace_scope in_trace(trace);
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
                run_route(index, topic, msg, out);
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
            run_route(index, topic, msg, out);
        }
    }
    if (!any) {
        counters_.no_route();
        spdlog::warn("no route for topic '{}' ({} bytes); message dropped", topic,
                     msg.payload.size());
    }
}

outcome dispatcher::run_once(std::size_t index, routemq::params& params, const message& msg,
                             outbox& out, std::string& error, bool& replied) noexcept {
    const auto& rt = router_.routes()[index];
    try {
        tagging_outbox tagged(out, origin_);
        outbox& to = any_no_local_ && !origin_.empty() ? static_cast<outbox&>(tagged) : out;
        context ctx(msg, rt.pattern.text(), to, process_, json_max_depth_);
        // Lent to the context for this attempt (no copy), returned for the next one.
        struct lend {
            routemq::params& a;
            routemq::params& b;
            ~lend() { std::swap(a, b); }
        } lent{ctx.params(), params};
        std::swap(ctx.params(), params);
        rt.chain(ctx);
        replied = ctx.replied();
        return outcome::handled;
    } catch (const payload_error& e) {
        error = e.what();
        return outcome::bad_payload;
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "unknown exception";
    }
    return outcome::handler_error;
}

void dispatcher::run_route(std::size_t index, std::string_view topic, const message& msg,
                           outbox& out) noexcept {
    const auto& rt = router_.routes()[index];
    const auto& policy = policies_[index];
    // The handler run's span, retries included: what it publishes and logs carries it.
    const auto span = start_span();
    const trace_scope in_span(span);
    std::string error;
    routemq::params params;
    try {
        if (!rt.pattern.match(topic, params)) {
            counters_.no_route();
            spdlog::warn("topic '{}' does not match route '{}' it was delivered for; dropped",
                         topic, rt.pattern.text());
            return;
        }
    } catch (...) {
        counters_.no_route();
        return;
    }
    if (rt.options.no_local && !origin_.empty() && published_by(msg, origin_)) {
        return;  // this process's own publish: what No Local means
    }
    const auto digest = message_digest(index, topic, msg.payload);
    try {
        std::string cause;
        if (const int crashes = counters_.crashes(digest, cause);
            crashes >= poison_max_crashes_ && poison_max_crashes_ > 0) {
            error = fmt::format("killed {} workers (last: {})", crashes, cause);
            spdlog::error(
                "poison message on topic '{}' for route '{}' ({} bytes): it {}; not run "
                "again",
                topic, rt.pattern.text(), msg.payload.size(), error);
            dead_letter(index, topic, msg, out, dead_letter_reason::poison, error, 0);
            return;
        }
    } catch (...) {
        // Cannot tell: run it; the rule applies again if it kills this worker too.
    }
    if (!msg.response_topic.empty()) {
        try {
            send_status(out, msg, kStatusAccepted, "");
        } catch (const std::exception& e) {
            spdlog::warn("cannot tell the caller of '{}' that its request was accepted: {}", topic,
                         e.what());
        }
    }
    const int attempts = std::max(1, policy.retry.attempts);
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        const auto started = std::chrono::steady_clock::now();
        counters_.begin(index, topic, digest, policy.timeout);
        bool replied = false;
        const auto result = run_once(index, params, msg, out, error, replied);
        counters_.end();
        counters_.ran(
            index, result,
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()));
        try {
            if (result == outcome::handled) {
                if (!replied && !msg.response_topic.empty()) {
                    send_status(out, msg, kStatusDone, "");  // the caller is not left waiting
                }
                confirm_or_exit(out, topic, "results");
                return;
            }
            if (result == outcome::bad_payload) {
                spdlog::warn("bad payload on topic '{}' for route '{}': {}", topic,
                             rt.pattern.text(), error);
                dead_letter(index, topic, msg, out, dead_letter_reason::payload, error, attempt);
                return;
            }
            if (attempt < attempts) {
                const auto wait = retry_wait(policy.retry, attempt);
                spdlog::warn(
                    "handler {} failed on topic '{}' (route '{}', attempt {} of {}): {}; "
                    "retrying in {} ms",
                    rt.handler_name, topic, rt.pattern.text(), attempt, attempts, error,
                    wait.count());
                counters_.retried(index);
                if (retry_wait_) {
                    retry_wait_(wait);
                } else {
                    std::this_thread::sleep_for(wait);
                }
                continue;
            }
            spdlog::error("handler {} failed on topic '{}' (route '{}'{}): {}", rt.handler_name,
                          topic, rt.pattern.text(),
                          attempts > 1 ? fmt::format(", all {} attempts", attempts) : "", error);
        } catch (...) {
            // Logging failed (out of memory): the message still goes where it must below.
        }
    }
    dead_letter(index, topic, msg, out, dead_letter_reason::failed, error, attempts);
}

void dispatcher::dead_letter(std::size_t index, std::string_view topic, const message& msg,
                             outbox& out, dead_letter_reason why, const std::string& error,
                             int attempts) noexcept {
    const auto& rt = router_.routes()[index];
    std::string to;
    try {
        to = dead_letter_topic(policies_[index].dead_letter_topic, topic);
        publish_properties properties;
        properties.user_properties = {
            {"routemq-reason", std::string(reason_name(why))},
            {"routemq-route", rt.pattern.text()},
            {"routemq-error", error},
            {"routemq-attempts", std::to_string(attempts)},
            {"routemq-topic", std::string(topic)},
            {"routemq-process", fmt::format("{} (pid {})", process_, getpid())},
        };
        out.publish(to, msg.payload, 1, false, properties);
        // A request's caller learns that it failed, and why.
        send_status(out, msg, kStatusFailed,
                    nlohmann::json{{"reason", reason_name(why)}, {"error", error}}.dump());
    } catch (const std::exception& e) {
        spdlog::critical(
            "cannot publish the dead letter of topic '{}' to '{}': {}; exiting so "
            "that the message is delivered again",
            topic, to, e.what());
        std::_Exit(kExitUnconfirmed);
    }
    confirm_or_exit(out, topic, "dead letter");
    counters_.dead_lettered(index, why);
    try {
        spdlog::warn("message on topic '{}' (route '{}') sent to dead-letter topic '{}' ({})",
                     topic, rt.pattern.text(), to, reason_name(why));
    } catch (...) {
    }
}

void dispatcher::confirm_or_exit(outbox& out, std::string_view topic, const char* what) noexcept {
    bool confirmed = false;
    try {
        confirmed = out.confirm(kConfirmTimeout);
    } catch (...) {
    }
    if (!confirmed) {
        try {
            spdlog::critical(
                "the broker did not confirm the {} of the message on topic '{}' "
                "within {} s; exiting without acknowledging it, so that it is "
                "delivered again",
                what, topic, kConfirmTimeout.count());
        } catch (...) {
        }
        std::_Exit(kExitUnconfirmed);
    }
}

}  // namespace routemq::detail
