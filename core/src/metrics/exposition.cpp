#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "pod/protocol.hpp"
#include "routemq/version.hpp"

namespace routemq::detail {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

/// A label value with `\`, `"` and newlines escaped as the format requires.
std::string escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

template <class... Args>
void append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

/// A family with one sample per process of `slots`, valued by `value(cells)`.
template <class Value>
void per_process(std::string& out, const pod_region& m, const std::vector<std::size_t>& slots,
                 std::string_view name, std::string_view type, std::string_view help, Value value) {
    family(out, name, type, help);
    for (auto p : slots) {
        append(out, "{}{{process=\"{}\"}} {}\n", name, process_name(p), value(m.process(p)));
    }
}

/// One route pattern's counters, summed over every process and every route with that pattern.
struct route_totals : route_sums {
    std::string label;
};

/// A counter family with one sample per route pattern, valued by `value(totals)`.
template <class Value>
void per_route(std::string& out, const std::vector<route_totals>& routes, std::string_view name,
               std::string_view help, Value value) {
    family(out, name, "counter", help);
    for (const auto& r : routes) {
        append(out, "{}{{route=\"{}\"}} {}\n", name, r.label, value(r));
    }
}

std::vector<route_totals> totals_by_pattern(const pod_region& m,
                                            const std::vector<std::string>& labels) {
    std::vector<route_totals> out;
    for (std::size_t r = 0; r < m.routes(); ++r) {
        const auto label = escape(r < labels.size() ? labels[r] : fmt::format("route{}", r));
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const route_totals& t) { return t.label == label; });
        if (it == out.end()) {
            it = out.insert(out.end(), route_totals{});
            it->label = label;
        }
        *it += m.sum_route(r);
    }
    return out;
}

}  // namespace

std::string render_prometheus(const pod_region& m, const std::vector<std::string>& route_labels) {
    std::string out;
    const auto routes = totals_by_pattern(m, route_labels);
    std::vector<std::size_t> live;  // slots meant to have a client
    for (std::size_t p = 0; p < m.processes(); ++p) {
        const auto state = m.process(p).state.load(kRelaxed);
        if (counts_for_readiness(state) || m.process(p).pid.load(kRelaxed) != 0) {
            live.push_back(p);
        }
    }

    family(out, "routemq_build_info", "gauge", "Always 1; the version of this routemq build.");
    append(out, "routemq_build_info{{version=\"{}\"}} 1\n", kVersion);

    per_process(out, m, live, "routemq_messages_received_total", "counter",
                "Deliveries received from the broker, per process.",
                [](const process_cells& c) { return c.received.load(kRelaxed); });

    per_route(out, routes, "routemq_messages_handled_total",
              "Route handler chains that completed, per route pattern, over every process.",
              [](const route_totals& r) { return r.handled; });

    family(out, "routemq_messages_failed_total", "counter",
           "Deliveries not handled, by reason: no_route (route is empty), bad_payload, "
           "handler_error.");
    std::uint64_t no_route = 0;
    for (std::size_t p = 0; p < m.processes(); ++p) {
        no_route += m.process(p).no_route.load(kRelaxed);
    }
    append(out, "routemq_messages_failed_total{{reason=\"no_route\",route=\"\"}} {}\n", no_route);
    for (const auto& r : routes) {
        append(out, "routemq_messages_failed_total{{reason=\"bad_payload\",route=\"{}\"}} {}\n",
               r.label, r.bad_payload);
        append(out, "routemq_messages_failed_total{{reason=\"handler_error\",route=\"{}\"}} {}\n",
               r.label, r.handler_error);
    }

    per_route(out, routes, "routemq_retries_total",
              "Failed handler runs run again (the message still unacknowledged), per route "
              "pattern.",
              [](const route_totals& r) { return r.retries; });
    family(out, "routemq_dead_letters_total", "counter",
           "Messages published to the dead-letter topic, by reason: failed (every attempt "
           "threw), payload (unreadable), poison (killed POISON_MAX_CRASHES workers).");
    for (const auto& r : routes) {
        for (const auto why : {dead_letter_reason::failed, dead_letter_reason::payload,
                               dead_letter_reason::poison}) {
            append(out, "routemq_dead_letters_total{{reason=\"{}\",route=\"{}\"}} {}\n",
                   reason_name(why), r.label, r.dead_letters[static_cast<std::size_t>(why)]);
        }
    }
    per_route(out, routes, "routemq_publishes_refused_total",
              "Publishes of the route's messages the broker refused (a reason code of 0x80 or "
              "more, or the connection closed over them): results, replies and dead letters.",
              [](const route_totals& r) { return r.publishes_refused; });
    per_route(out, routes, "routemq_replies_refused_total",
              "Requests handled without a reply because their Response Topic is outside the "
              "reply policy (REPLY_TOPIC_PREFIXES, REPLY_TOPIC_MAX_BYTES, accept_replies).",
              [](const route_totals& r) { return r.replies_refused; });
    per_route(out, routes, "routemq_handler_timeouts_total",
              "Processes killed because a handler of the route ran past its timeout.",
              [](const route_totals& r) { return r.timeouts; });
    per_route(out, routes, "routemq_worker_crashes_total",
              "Processes that died (crash or timeout) while running a handler of the route; the "
              "message counts toward the poison rule.",
              [](const route_totals& r) { return r.crashes; });

    family(out, "routemq_handler_duration_seconds", "histogram",
           "Time in a route's middleware and handler, every outcome, per route pattern.");
    for (const auto& r : routes) {
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < kDurationBuckets.size(); ++b) {
            cumulative += r.buckets[b];
            append(out, "routemq_handler_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                   r.label, kDurationBuckets[b], cumulative);
        }
        cumulative += r.buckets.back();
        append(out, "routemq_handler_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
               r.label, cumulative);
        append(out, "routemq_handler_duration_seconds_sum{{route=\"{}\"}} {}\n", r.label,
               static_cast<double>(r.sum_ns) * 1e-9);
        append(out, "routemq_handler_duration_seconds_count{{route=\"{}\"}} {}\n", r.label,
               cumulative);
    }

    // The autoscaler's signal, for an HPA or KEDA to scale pods on it too (manager only: the
    // manager samples it every second; the same pattern twice adds up).
    struct scaling_totals {
        std::string label;
        double busy = 0;
        std::uint64_t workers = 0, max = 0, up = 0, down = 0;
    };
    std::vector<scaling_totals> scaling;
    for (std::size_t i = 0; i < m.routes() && i < route_labels.size(); ++i) {
        const auto& c = m.scaling(i);
        if (c.max_workers.load(kRelaxed) == 0) {
            continue;
        }
        const auto label = escape(route_labels[i]);
        auto it = std::find_if(scaling.begin(), scaling.end(),
                               [&](const auto& t) { return t.label == label; });
        if (it == scaling.end()) {
            it = scaling.insert(scaling.end(), {label});
        }
        it->busy = std::max(it->busy, c.busy_ppm.load(kRelaxed) / 1e6);
        it->workers += c.workers.load(kRelaxed);
        it->max += c.max_workers.load(kRelaxed);
        it->up += c.scaled_up.load(kRelaxed);
        it->down += c.scaled_down.load(kRelaxed);
    }
    if (!scaling.empty()) {
        family(out, "routemq_route_busy_ratio", "gauge",
               "Time in the route's handlers over the wall time of the processes serving it, "
               "over the last second (0 to 1).");
        for (const auto& t : scaling) {
            append(out, "routemq_route_busy_ratio{{route=\"{}\"}} {}\n", t.label, t.busy);
        }
        family(out, "routemq_route_workers", "gauge", "Workers serving the route now.");
        for (const auto& t : scaling) {
            append(out, "routemq_route_workers{{route=\"{}\"}} {}\n", t.label, t.workers);
        }
        family(out, "routemq_route_workers_max", "gauge",
               "The most workers the route can have in this pod (max_workers, else its "
               "workers).");
        for (const auto& t : scaling) {
            append(out, "routemq_route_workers_max{{route=\"{}\"}} {}\n", t.label, t.max);
        }
        family(out, "routemq_route_scaling_total", "counter",
               "Workers added (up) and removed (down) by autoscaling or routemq ctl scale.");
        for (const auto& t : scaling) {
            append(out, "routemq_route_scaling_total{{route=\"{}\",direction=\"up\"}} {}\n",
                   t.label, t.up);
            append(out, "routemq_route_scaling_total{{route=\"{}\",direction=\"down\"}} {}\n",
                   t.label, t.down);
        }
    }

    const auto& mgr = m.manager();
    family(out, "routemq_workers_planned", "gauge",
           "Workers in the plan (a worker has a process per handler slot).");
    append(out, "routemq_workers_planned {}\n", mgr.workers_planned.load(kRelaxed));
    family(out, "routemq_workers_running", "gauge", "Workers whose every process runs now.");
    append(out, "routemq_workers_running {}\n", mgr.workers_running.load(kRelaxed));
    family(out, "routemq_processes_planned", "gauge", "Worker processes in the plan.");
    append(out, "routemq_processes_planned {}\n", mgr.processes_planned.load(kRelaxed));
    family(out, "routemq_processes_running", "gauge", "Worker processes running now.");
    append(out, "routemq_processes_running {}\n", mgr.processes_running.load(kRelaxed));
    family(out, "routemq_worker_restarts_total", "counter",
           "Worker processes restarted after they died.");
    append(out, "routemq_worker_restarts_total {}\n", mgr.worker_restarts.load(kRelaxed));
    // The family is always declared; its sample only once the broker has said.
    family(out, "routemq_broker_dropped_messages", "gauge",
           "Messages the broker dropped since it started, as it reports them "
           "($SYS/broker/publish/messages/dropped on mosquitto): full session queues, mostly. "
           "No sample while the broker has not said.");
    if (const auto dropped = mgr.broker_dropped_plus_one.load(kRelaxed); dropped > 0) {
        append(out, "routemq_broker_dropped_messages {}\n", dropped - 1);
    }
    // Declared always; sampled once the store's index has loaded (DEAD_LETTER_MAX > 0, MQTT 5).
    const bool store_loaded = mgr.dead_letters_loaded.load(kRelaxed) != 0;
    family(out, "routemq_dead_letters_kept", "gauge",
           "Dead letters kept in the broker's dead-letter store, as this pod's index sees it.");
    if (store_loaded) {
        append(out, "routemq_dead_letters_kept {}\n", mgr.dead_letters_kept.load(kRelaxed));
    }
    family(out, "routemq_dead_letters_evicted_total", "counter",
           "Dead letters this pod removed from the store as the oldest beyond DEAD_LETTER_MAX.");
    if (store_loaded) {
        append(out, "routemq_dead_letters_evicted_total {}\n",
               mgr.dead_letters_evicted.load(kRelaxed));
    }

    per_process(out, m, live, "routemq_mqtt_connected", "gauge",
                "1 while the process's MQTT client is connected, per process.",
                [](const process_cells& c) { return c.connected.load(kRelaxed); });
    per_process(out, m, live, "routemq_mqtt_subscribed", "gauge",
                "1 while connected with every subscription granted, per process.",
                [](const process_cells& c) { return c.subscribed.load(kRelaxed); });
    per_process(out, m, live, "routemq_mqtt_reconnects_total", "counter",
                "Connections made again after one was lost, per process.",
                [](const process_cells& c) { return c.reconnects.load(kRelaxed); });
    per_process(out, m, live, "routemq_mqtt_connect_failures_total", "counter",
                "Connection attempts that failed, per process (the reason is in /readyz).",
                [](const process_cells& c) { return c.connect_failures.load(kRelaxed); });
    return out;
}

}  // namespace routemq::detail
