#include "routemq/testing/harness.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>

#include "delivery/counters.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/outbox.hpp"
#include "delivery/publish_check.hpp"
#include "routemq/errors.hpp"
#include "routemq/pattern.hpp"
#include "routing/subscriptions.hpp"

namespace routemq::testing {
namespace {

/// Throws when `topic` is not one a client may publish to: what a broker refuses from the test's
/// own delivery.
void check_topic(std::string_view topic, std::string_view what) {
    if (auto why = detail::topic_name_problem(topic); !why.empty()) {
        throw routemq::error(fmt::format("cannot deliver to {} '{}': {}", what,
                                         detail::printable_topic(topic), why));
    }
}

/// Records what the application publishes, sorted as result presents it. Checks what the real
/// outbox checks, and what a broker refuses, so a handler fails here as it would there.
class recording_outbox final : public detail::outbox {
public:
    explicit recording_outbox(result& into) : into_(into) {}

    void publish(const std::string& topic, std::string_view payload, int qos,
                 bool retain) override {
        publish(topic, payload, qos, retain, detail::publish_properties{});
    }
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const detail::publish_properties& properties) override {
        // The production outbox's own check, against a broker without a packet size limit.
        detail::check_publish(topic, payload.size(), qos, properties, {});
        published_message m{topic,  std::string(payload),       qos,
                            retain, properties.user_properties, properties.correlation_data};
        if (!m.property("routemq-reason").empty()) {
            into_.dead_letters.push_back({m.topic, m.payload, m.property("routemq-reason"),
                                          m.property("routemq-route"), m.property("routemq-error"),
                                          std::atoi(m.property("routemq-attempts").c_str())});
        } else if (!m.property("routemq-status").empty()) {
            into_.replies.push_back(std::move(m));
        } else {
            into_.published.push_back(std::move(m));
        }
    }
    detail::confirmation confirm(std::chrono::milliseconds) noexcept override {
        return {.complete = true, .refused = {}};
    }

private:
    result& into_;
};

/// Turns what the dispatcher reports into runs of the result.
class recording_counters final : public detail::dispatch_counters {
public:
    recording_counters(const router& r, result& into) : router_(r), into_(into) {}

    /// A new copy of the message: attempts count afresh.
    void next_copy() { attempts_.clear(); }

    void received() noexcept override { ++into_.deliveries; }
    void no_route() noexcept override { into_.no_route = true; }
    void ran(std::size_t route, detail::outcome how, std::uint64_t) noexcept override {
        try {
            const auto& rt = router_.routes().at(route);
            into_.runs.push_back(
                {rt.pattern.text(), rt.handler_name, convert(how), ++attempts_[route]});
        } catch (...) {
            // Out of memory: the run goes unrecorded rather than through the dispatcher.
        }
    }
    void retried(std::size_t) noexcept override {}
    void dead_lettered(std::size_t, detail::dead_letter_reason) noexcept override {}

private:
    static outcome convert(detail::outcome how) {
        switch (how) {
            case detail::outcome::bad_payload:
                return outcome::bad_payload;
            case detail::outcome::handler_error:
                return outcome::handler_error;
            case detail::outcome::handled:
                break;
        }
        return outcome::handled;
    }

    const router& router_;
    result& into_;
    std::map<std::size_t, int> attempts_;
};

/// Copies what the default logger writes into the result while it is in place.
class log_capture final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit log_capture(std::vector<std::string>& into) : into_(into) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const auto level = spdlog::level::to_string_view(msg.level);
        into_.push_back(fmt::format("[{}] {}", std::string_view(level.data(), level.size()),
                                    std::string_view(msg.payload.data(), msg.payload.size())));
    }
    void flush_() override {}

private:
    std::vector<std::string>& into_;
};

/// Adds a log_capture to the default logger for its lifetime.
class capturing_log {
public:
    explicit capturing_log(std::vector<std::string>& into)
        : logger_(spdlog::default_logger()), sink_(std::make_shared<log_capture>(into)) {
        logger_->sinks().push_back(sink_);
    }
    ~capturing_log() {
        auto& sinks = logger_->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
    capturing_log(const capturing_log&) = delete;
    capturing_log& operator=(const capturing_log&) = delete;

private:
    std::shared_ptr<spdlog::logger> logger_;
    std::shared_ptr<spdlog::sinks::sink> sink_;
};

routemq::router registered(const route_registrar& register_routes) {
    routemq::router r;
    register_routes(r);
    return r;
}

}  // namespace

std::string published_message::property(std::string_view name) const {
    return routemq::property_value(user_properties, name);
}

nlohmann::json published_message::json() const {
    return nlohmann::json::parse(payload);
}

std::vector<std::string> result::routes() const {
    std::vector<std::string> out;
    for (const auto& run : runs) {
        if (std::find(out.begin(), out.end(), run.pattern) == out.end()) {
            out.push_back(run.pattern);
        }
    }
    return out;
}

int result::count(routemq::testing::outcome o) const {
    return static_cast<int>(
        std::count_if(runs.begin(), runs.end(), [o](const auto& run) { return run.outcome == o; }));
}

bool result::handled() const {
    return !runs.empty() && dead_letters.empty();
}

std::vector<std::string> result::statuses() const {
    std::vector<std::string> out;
    for (const auto& m : replies) {
        out.push_back(m.property("routemq-status"));
    }
    return out;
}

std::vector<published_message> result::published_to(std::string_view filter) const {
    std::vector<published_message> out;
    std::copy_if(published.begin(), published.end(), std::back_inserter(out),
                 [filter](const auto& m) { return filter_matches(filter, m.topic); });
    return out;
}

bool result::logged(std::string_view text) const {
    return std::any_of(log.begin(), log.end(), [text](const std::string& line) {
        return line.find(text) != std::string::npos;
    });
}

struct harness::impl {
    impl(const route_registrar& register_routes, const harness_options& options)
        : settings(load_settings(options.settings, {})),
          routes(registered(register_routes)),
          counters(routes, current),
          dispatcher(routes, detail::every_route(routes),
                     detail::plan_subscriptions(routes, detail::every_route(routes),
                                                settings.mqtt.group_name),
                     options.process_name, counters, settings.handling) {
        // What a process's endpoint tags its publishes with when it serves a no_local route.
        dispatcher.set_origin("routemq-testing-" + options.process_name);
        dispatcher.set_retry_wait(
            [this](std::chrono::milliseconds wait) { current.retry_waits.push_back(wait); });
    }

    routemq::settings settings;
    routemq::router routes;
    /// The result being filled by deliver().
    result current;
    recording_counters counters;
    detail::dispatcher dispatcher;
};

harness::harness(const route_registrar& register_routes, harness_options options)
    : impl_(std::make_unique<impl>(register_routes, options)) {}

harness::~harness() = default;

const std::vector<routemq::route>& harness::routes() const noexcept {
    return impl_->routes.routes();
}

result harness::deliver(const delivery& in) {
    check_topic(in.topic, "topic");
    if (!in.response_topic.empty()) {
        check_topic(in.response_topic, "response topic");
    }
    if (in.qos < 0 || in.qos > 2) {
        throw routemq::error(
            fmt::format("cannot publish to '{}': QoS {} is not 0, 1 or 2", in.topic, in.qos));
    }
    auto& m = *impl_;
    m.current = result{};
    {
        capturing_log capture(m.current.log);
        recording_outbox out(m.current);
        message msg{in.topic,          in.payload,         in.qos,
                    in.retain,         in.user_properties, {},
                    in.response_topic, in.correlation_data};
        // As an MQTT 5 broker sends it: a copy per matching subscription, each carrying its
        // identifier, at the lower of the publish's and the subscription's QoS. A message no
        // subscription matches never reaches the application.
        for (const auto& sub : m.dispatcher.subscriptions()) {
            if (!filter_matches(detail::strip_share_prefix(sub.topic), in.topic)) {
                continue;
            }
            msg.qos = std::min(in.qos, sub.qos);
            msg.subscription_ids = {sub.id};
            m.counters.next_copy();
            m.dispatcher.dispatch(msg, out);
        }
        m.current.no_route = m.current.no_route || m.current.deliveries == 0;
    }
    return std::move(m.current);
}

}  // namespace routemq::testing
