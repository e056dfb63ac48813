#include "delivery/dispatcher.hpp"

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

#include "delivery/context_access.hpp"
#include "delivery/publish_check.hpp"
#include "delivery/replies.hpp"
#include "delivery/trace_context.hpp"
#include "routemq/cli.hpp"
#include "routemq/context.hpp"
#include "routemq/errors.hpp"
#include "runtime/host.hpp"

namespace routemq::detail {
namespace {

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
    confirmation confirm(std::chrono::milliseconds timeout) noexcept override {
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

std::string dead_letter_topic(std::string_view pattern, std::string_view topic,
                              std::string* fallback) {
    const auto fill = [pattern](std::string_view with) {
        std::string out(pattern);
        constexpr std::string_view kPlaceholder = "{topic}";
        for (auto at = out.find(kPlaceholder); at != std::string::npos;
             at = out.find(kPlaceholder, at + with.size())) {
            out.replace(at, kPlaceholder.size(), with);
        }
        return out;
    };
    auto out = fill(topic);
    if (auto why = topic_name_problem(out); !why.empty()) {
        out = fill(fmt::format("routemq-digest/{:016x}", message_digest(0, topic, {})));
        if (fallback != nullptr) {
            *fallback = std::move(why);
        }
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
      json_max_depth_(handling.json_max_depth),
      replies_(r, handling) {
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
    if (is_framework_topic(topic)) {
        // A route on `#` would run every kept dead letter (and dead-letter it again when it
        // fails: a loop) and every store's marker: those are the framework's, not the app's.
        counters_.no_route();
        return;
    }
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
        spdlog::warn("no route for topic '{}' ({} bytes); message dropped", printable_topic(topic),
                     msg.payload.size());
    }
}

outcome dispatcher::run_once(std::size_t index, routemq::params& params, const message& msg,
                             outbox& out, std::string& error, bool& replied,
                             bool& hopeless) noexcept {
    const auto& rt = router_.routes()[index];
    try {
        tagging_outbox tagged(out, origin_);
        outbox& to = any_no_local_ && !origin_.empty() ? static_cast<outbox&>(tagged) : out;
        auto ctx = context_access::make(msg, rt.pattern.text(), to, process_, json_max_depth_);
        // Lent to the context for this attempt (no copy), returned for the next one.
        struct lend {
            routemq::params& a;
            routemq::params& b;
            ~lend() { std::swap(a, b); }
        } lent{context_access::params(ctx), params};
        std::swap(context_access::params(ctx), params);
        rt.chain(ctx);
        replied = ctx.replied();
        return outcome::handled;
    } catch (const payload_error& e) {
        error = e.what();
        return outcome::bad_payload;
    } catch (const publish_error& e) {
        error = e.what();
        hopeless = true;
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "unknown exception";
    }
    return outcome::handler_error;
}

void dispatcher::run_route(std::size_t index, std::string_view topic, const message& in,
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
                         printable_topic(topic), rt.pattern.text());
            return;
        }
    } catch (...) {
        counters_.no_route();
        return;
    }
    if (rt.options.no_local && !origin_.empty() && published_by(in, origin_)) {
        return;  // this process's own publish: what No Local means
    }
    // A request whose Response Topic the policy refuses is handled as if it asked for no reply.
    const message* msg = &in;
    message unanswered;
    if (!in.response_topic.empty()) {
        try {
            if (auto why = replies_.problem(in.response_topic); !why.empty()) {
                spdlog::warn(
                    "request on topic '{}' (route '{}') names Response Topic '{}': {}; handling "
                    "it without a reply",
                    printable_topic(topic), rt.pattern.text(), printable_topic(in.response_topic),
                    why);
                counters_.reply_refused(index);
                unanswered = in;
                unanswered.response_topic.clear();
                msg = &unanswered;
            }
        } catch (...) {
            // Out of memory copying the message: returning would acknowledge it unhandled, and
            // handling it with its Response Topic would break the policy; it comes back instead.
            std::_Exit(code(exit_status::unconfirmed));
        }
    }
    const auto digest = message_digest(index, topic, msg->payload);
    try {
        std::string cause;
        if (const int crashes = counters_.crashes(digest, cause);
            crashes >= poison_max_crashes_ && poison_max_crashes_ > 0) {
            error = fmt::format("killed {} workers (last: {})", crashes, cause);
            spdlog::error(
                "poison message on topic '{}' for route '{}' ({} bytes): it {}; not run "
                "again",
                printable_topic(topic), rt.pattern.text(), msg->payload.size(), error);
            dead_letter(index, topic, *msg, out, dead_letter_reason::poison, error, 0);
            return;
        }
    } catch (...) {
        // Cannot tell: run it; the rule applies again if it kills this worker too.
    }
    try_send_status(out, *msg, kStatusAccepted, "");
    const int attempts = std::max(1, policy.retry.attempts);
    int ran = 0;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        ran = attempt;
        const auto started = std::chrono::steady_clock::now();
        counters_.begin(index, topic, digest, policy.timeout);
        bool replied = false;
        bool hopeless = false;
        auto result = run_once(index, params, *msg, out, error, replied, hopeless);
        counters_.end();
        const auto took =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
        if (result == outcome::handled) {
            if (!replied) {
                try_send_status(out, *msg, kStatusDone, "");  // the caller is not left waiting
            }
            // A result the broker refused is a failure of this run, never a confirmation; a
            // refused reply is logged and counted, the caller then times out.
            for (const auto& r : confirm_or_exit(out, index, topic, "results")) {
                if (r.topic != msg->response_topic && result == outcome::handled) {
                    result = outcome::handler_error;
                    try {
                        error = fmt::format("the broker refused its result on '{}': {}",
                                            printable_topic(r.topic), r.reason);
                    } catch (...) {
                    }
                }
            }
        }
        counters_.ran(index, result, took);
        if (result == outcome::handled) {
            return;
        }
        try {
            if (result == outcome::bad_payload) {
                spdlog::warn("bad payload on topic '{}' for route '{}': {}", printable_topic(topic),
                             rt.pattern.text(), error);
                dead_letter(index, topic, *msg, out, dead_letter_reason::payload, error, attempt);
                return;
            }
            if (attempt < attempts && !hopeless) {
                const auto wait = retry_wait(policy.retry, attempt);
                spdlog::warn(
                    "handler {} failed on topic '{}' (route '{}', attempt {} of {}): {}; "
                    "retrying in {} ms",
                    rt.handler_name, printable_topic(topic), rt.pattern.text(), attempt, attempts,
                    error, wait.count());
                counters_.retried(index);
                if (retry_wait_) {
                    retry_wait_(wait);
                } else {
                    std::this_thread::sleep_for(wait);
                }
                continue;
            }
            spdlog::error("handler {} failed on topic '{}' (route '{}'{}): {}", rt.handler_name,
                          printable_topic(topic), rt.pattern.text(),
                          attempt < attempts ? ", not retried: the same publish would fail again"
                          : attempts > 1     ? fmt::format(", all {} attempts", attempts)
                                             : "",
                          error);
        } catch (...) {
            // Logging failed (out of memory): the message still goes where it must below.
        }
        break;
    }
    dead_letter(index, topic, *msg, out, dead_letter_reason::failed, error, ran);
}

void dispatcher::try_send_status(outbox& out, const message& request, std::string_view status,
                                 std::string_view payload) noexcept {
    if (request.response_topic.empty()) {
        return;
    }
    try {
        send_status(out, request, status, payload);
    } catch (const std::exception& e) {
        try {
            spdlog::warn("cannot send status '{}' to the caller: {}", status, e.what());
        } catch (...) {
        }
    }
}

namespace {

/// Longest error text a dead letter or a `failed` status carries; a handler's exception can say
/// anything, and the whole must fit the broker's packet size.
constexpr std::size_t kMaxErrorText = 1000;

}  // namespace

void dispatcher::dead_letter(std::size_t index, std::string_view topic, const message& msg,
                             outbox& out, dead_letter_reason why, const std::string& error,
                             int attempts) noexcept {
    const auto& rt = router_.routes()[index];
    std::string to;
    std::string kept;
    try {
        std::string fallback;
        to = dead_letter_topic(policies_[index].dead_letter_topic, topic, &fallback);
        if (!fallback.empty()) {
            spdlog::warn(
                "the dead-letter topic of topic '{}' would be invalid ({}); using '{}' instead, "
                "its routemq-topic property holds the topic",
                printable_topic(topic), fallback, to);
        }
        const auto error_text = to_mqtt_string(error, kMaxErrorText);
        const dead_letter_facts facts{.reason = std::string(reason_name(why)),
                                      .route = rt.pattern.text(),
                                      .error = error_text,
                                      .attempts = attempts,
                                      .process = fmt::format("{} (pid {})", process_, getpid())};
        publish_properties properties{.user_properties = fact_properties(facts, topic)};
        try {
            out.publish(to, msg.payload, 1, false, properties);
        } catch (const publish_error& e) {
            // Too large with the whole topic beside the payload: keep the payload, cut the topic.
            spdlog::warn("dead letter of topic '{}': {}; sending it with routemq-topic cut",
                         printable_topic(topic), e.what());
            properties.user_properties = fact_properties(facts, to_mqtt_string(topic, 200));
            out.publish(to, msg.payload, 1, false, properties);
        }
        if (!store_prefix_.empty()) {
            kept = keep_dead_letter(msg, topic, out, facts);
        }
        // A request's caller learns that it failed, and why.
        try_send_status(out, msg, kStatusFailed,
                        nlohmann::json{{"reason", reason_name(why)}, {"error", error_text}}.dump(
                            -1, ' ', false, nlohmann::json::error_handler_t::replace));
    } catch (const std::exception& e) {
        // Nothing any later delivery could change (the payload alone is over the broker's
        // limit): logged, counted and acknowledged rather than redelivered forever.
        try {
            spdlog::critical(
                "cannot publish the dead letter of topic '{}' (route '{}', {} bytes) to '{}': {}; "
                "the message is dropped",
                printable_topic(topic), rt.pattern.text(), msg.payload.size(), printable_topic(to),
                e.what());
        } catch (...) {
        }
        counters_.publishes_refused(index, 1);
        return;
    }
    for (const auto& r : confirm_or_exit(out, index, topic, "dead letter")) {
        if (r.topic == kept) {
            try {
                spdlog::error(
                    "the broker refused to keep the dead letter of topic '{}' on '{}': {}; it "
                    "was published to '{}' but is not in the dead-letter store",
                    printable_topic(topic), kept, r.reason, printable_topic(to));
            } catch (...) {
            }
        } else if (r.topic == to) {
            try {
                spdlog::critical(
                    "the broker refused the dead letter of topic '{}' (route '{}', {} bytes) "
                    "on '{}': {}; the message is dropped",
                    printable_topic(topic), rt.pattern.text(), msg.payload.size(),
                    printable_topic(to), r.reason);
            } catch (...) {
            }
            return;
        }
    }
    counters_.dead_lettered(index, why);
    try {
        spdlog::warn("message on topic '{}' (route '{}') sent to dead-letter topic '{}' ({})",
                     printable_topic(topic), rt.pattern.text(), printable_topic(to),
                     reason_name(why));
    } catch (...) {
    }
}

std::string dispatcher::keep_dead_letter(const message& msg, std::string_view topic, outbox& out,
                                         const dead_letter_facts& facts) {
    if (msg.payload.empty()) {
        spdlog::warn(
            "the dead letter of topic '{}' is not kept in the dead-letter store: its payload is "
            "empty, and an empty retained message removes instead of keeping",
            printable_topic(topic));
        return "";
    }
    const auto unix_ms = unix_time_ms();
    const auto unique = message_digest(0, topic, msg.payload) ^
                        (static_cast<std::uint64_t>(getpid()) << 40) ^ ++kept_;
    auto kept = fmt::format("{}/{}", store_prefix_, dead_letter_id(unix_ms, unique));
    try {
        out.publish(kept, msg.payload, 1, true, kept_properties(msg, topic, facts));
    } catch (const std::exception& e) {
        spdlog::error("the dead letter of topic '{}' is not kept in the dead-letter store: {}",
                      printable_topic(topic), e.what());
        return "";
    }
    return kept;
}

std::vector<refused_publish> dispatcher::confirm_or_exit(outbox& out, std::size_t route,
                                                         std::string_view topic,
                                                         const char* what) noexcept {
    confirmation c;
    try {
        c = out.confirm(kConfirmTimeout);
    } catch (...) {
    }
    if (!c.complete) {
        try {
            spdlog::critical(
                "the broker did not confirm the {} of the message on topic '{}' "
                "within {} s; exiting without acknowledging it, so that it is "
                "delivered again",
                what, printable_topic(topic), kConfirmTimeout.count());
        } catch (...) {
        }
        std::_Exit(code(exit_status::unconfirmed));
    }
    if (!c.refused.empty()) {
        counters_.publishes_refused(route, c.refused.size());
        try {
            for (const auto& r : c.refused) {
                spdlog::error(
                    "the broker refused a publish of the message on topic '{}' to '{}': {}",
                    printable_topic(topic), printable_topic(r.topic), r.reason);
            }
        } catch (...) {
        }
    }
    return std::move(c.refused);
}

}  // namespace routemq::detail
