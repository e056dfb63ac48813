#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "routemq/middleware.hpp"
#include "routemq/pattern.hpp"

namespace routemq {

/// How a handler that throws is run again. Its message stays unacknowledged meanwhile, so a
/// crash during the waits loses nothing; after the last attempt it goes to the dead-letter topic.
struct retry_policy {
    /// Runs in all, the first included: 1 means no retry.
    int attempts = 3;
    /// Wait before the first retry; doubles with every retry, up to `backoff_max`.
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds backoff_max{5000};
    /// Each wait is varied at random by up to this fraction, so retries of many messages spread.
    double jitter = 0.2;
};

/// Which waiting message a worker's free handler slot takes first, when the worker serves routes
/// of several priorities (docs/workers.md).
enum class priority { low = 0, normal = 1, high = 2 };

/// "low", "normal" or "high".
const char* priority_name(priority p) noexcept;

/// Per-route options.
struct route_options {
    /// Subscription QoS, 0 to 2.
    int qos = 0;
    /// Subscribe through `$share/<MQTT_GROUP_NAME>/...` so the broker spreads messages.
    bool shared = false;
    /// Worker processes for a shared route (at least 1). Not used when the route autoscales.
    /// Like min_workers, max_workers and concurrency, refused on a route that is not shared
    /// unless left at its default.
    int worker_count = 1;
    /// Autoscaling (with `--workers`): the manager keeps between `min_workers` and `max_workers`
    /// workers on this shared route, adding one while they are busy and removing one, without
    /// loss, while they idle (docs/workers.md). 0: AUTOSCALE_MIN_WORKERS / AUTOSCALE_MAX_WORKERS;
    /// a `max_workers` of 0 there too means a fixed `worker_count`.
    int min_workers = 0;
    int max_workers = 0;
    /// Handlers of this route one worker runs at once (1 to 256; more than 1 needs `shared`).
    /// Each handler slot is a process of its own with its own session in the share group, so
    /// every message is still acknowledged only after its own handler returned
    /// (docs/concurrency.md).
    int concurrency = 1;
    /// The pool this route belongs to: an instance started with `--pools` (WORKER_POOLS) serves
    /// only the routes of those pools, so each pool deploys and scales on its own.
    std::string pool = "default";
    /// When one worker serves routes of different priorities and its handler slots are all
    /// busy, the next free slot goes to the waiting message of the highest priority, oldest
    /// first; nothing is acknowledged early for it.
    routemq::priority priority = routemq::priority::normal;
    /// MQTT 5 No Local: the broker does not send this process's own publishes to this route.
    /// Set it on a wildcard route (`#`, `+/+`) whose handler publishes to topics it matches, or
    /// the handler receives its own output, forever. Not allowed on shared routes (MQTT 5).
    bool no_local = false;
    /// This route overlaps routes of other filters on purpose (`a/+` and `a/#`): no startup
    /// warning about it. The same filter twice is refused whatever this says.
    bool allow_overlap = false;
    /// This route handles replies of the application's own workers: a request may name a
    /// Response Topic it matches (under REPLY_TOPIC_PREFIXES). Otherwise a worker never sends
    /// replies or statuses to a topic one of the application's routes would handle, so that a
    /// client cannot make it publish into another route (docs/requests.md).
    bool accept_replies = false;
    /// Longest run of the handler before the manager kills its worker (with --workers); 0: no
    /// limit. Unset: HANDLER_TIMEOUT_SECONDS.
    std::optional<std::chrono::milliseconds> timeout = {};
    /// Retries of a handler that throws. Unset: RETRY_ATTEMPTS, RETRY_BACKOFF_MS and
    /// RETRY_BACKOFF_MAX_MS.
    std::optional<retry_policy> retry = {};
    /// Where this route's unhandleable messages go (`{topic}`: the original topic). Empty:
    /// DEAD_LETTER_TOPIC.
    std::string dead_letter_topic = {};
    /// Route middleware, first listed is outermost; runs inside any group middleware.
    std::vector<routemq::middleware> middleware = {};
    /// Name shown by `routemq routes`; derived from the handler when empty.
    std::string name = {};
};

/// Options of a route group.
struct group_options {
    /// Joined in front of every pattern in the group with a single '/'.
    std::string prefix = {};
    /// Wraps the middleware of every route in the group; first listed is outermost.
    std::vector<routemq::middleware> middleware = {};
};

/// One registered route, compiled.
struct route {
    routemq::pattern pattern;
    route_options options;
    /// Group and route middleware composed around the handler, once, at registration.
    routemq::handler chain;
    std::string handler_name;
};

namespace detail {
/// Best-effort readable name of a function (demangled symbol) or callable type.
std::string function_name(const void* address);
std::string type_name(const std::type_info& type);
/// `prefix` and `pattern` joined with exactly one '/' (either may be empty).
std::string join_levels(const std::string& prefix, const std::string& pattern);
}  // namespace detail

class router;

/// A set of routes sharing a prefix and middleware; groups nest.
class route_group {
public:
    route_group(router& r, std::string prefix, std::vector<middleware> middleware);

    /// Registers `pattern` (joined to the group's prefix) with a handler.
    template <class Handler>
    void on(const std::string& pattern, Handler&& h, route_options options = {});

    /// A nested group: prefixes join, this group's middleware wraps the nested group's.
    route_group group(group_options options) const;

private:
    router* router_;
    std::string prefix_;
    std::vector<middleware> middleware_;
};

/// The route table of an application.
class router {
public:
    /// Registers a route; throws routemq::route_error (naming the pattern) when it is invalid,
    /// including when an earlier route has the same MQTT filter (docs/routing.md).
    template <class Handler>
    void on(const std::string& pattern, Handler&& h, route_options options = {}) {
        add(pattern, std::forward<Handler>(h), std::move(options), {});
    }

    /// A group of routes with a common prefix and middleware.
    route_group group(group_options options);

    const std::vector<route>& routes() const noexcept { return routes_; }

private:
    friend class route_group;

    template <class Handler>
    void add(const std::string& pattern, Handler&& h, route_options options,
             const std::vector<middleware>& outer) {
        std::string name = options.name;
        using decayed = std::decay_t<Handler>;
        if (name.empty()) {
            if constexpr (std::is_pointer_v<decayed> &&
                          std::is_function_v<std::remove_pointer_t<decayed>>) {
                name = detail::function_name(reinterpret_cast<const void*>(h));
            } else {
                name = detail::type_name(typeid(decayed));
            }
        }
        add_route(pattern, handler(std::forward<Handler>(h)), std::move(name), std::move(options),
                  outer);
    }

    void add_route(const std::string& pattern, handler h, std::string name, route_options options,
                   const std::vector<middleware>& outer);

    std::vector<route> routes_;
    /// MQTT filter -> index in routes_, to refuse one filter twice without a scan.
    std::unordered_map<std::string, std::size_t> filters_;
};

template <class Handler>
void route_group::on(const std::string& pattern, Handler&& h, route_options options) {
    router_->add(detail::join_levels(prefix_, pattern), std::forward<Handler>(h),
                 std::move(options), middleware_);
}

}  // namespace routemq
