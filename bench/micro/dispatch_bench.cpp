// In-process micro-benchmarks (Google Benchmark): route selection by table size and path, and the
// whole dispatch path (selection, context, middleware chain, handler) by number of middleware.

#include <benchmark/benchmark.h>

#include <routemq/router.hpp>
#include <string>

#include "delivery/counters.hpp"
#include "delivery/dispatcher.hpp"
#include "routing/subscriptions.hpp"

namespace {

class null_publisher : public routemq::detail::outbox {
public:
    void publish(const std::string&, std::string_view, int, bool) override {}
    void publish(const std::string&, std::string_view, int, bool,
                 const routemq::detail::publish_properties&) override {}
    routemq::detail::confirmation confirm(std::chrono::milliseconds) noexcept override {
        return {.complete = true, .refused = {}};
    }
};

/// Counters that cost nothing, so the figures are the dispatcher's own.
class null_counters : public routemq::detail::dispatch_counters {
public:
    void received() noexcept override {}
    void no_route() noexcept override {}
    void ran(std::size_t, routemq::detail::outcome, std::uint64_t) noexcept override {}
    void retried(std::size_t) noexcept override {}
    void dead_lettered(std::size_t, routemq::detail::dead_letter_reason) noexcept override {}
};

void handler(routemq::context& ctx) {
    benchmark::DoNotOptimize(ctx.param("id"));
}

/// `n` routes `area<i>/{id}/data`; the message goes to the middle one.
routemq::router table(int n) {
    routemq::router r;
    for (int i = 0; i < n; ++i) {
        r.on("area" + std::to_string(i) + "/{id}/data", &handler, {.name = "h"});
    }
    return r;
}

routemq::message message_for(int n, bool with_id) {
    routemq::message m;
    m.topic = "area" + std::to_string(n / 2) + "/42/data";
    m.payload = R"({"temp":21.5})";
    if (with_id) {
        m.subscription_ids = {n / 2 + 1};
    }
    return m;
}

routemq::detail::dispatcher dispatcher_for(const routemq::router& r, null_counters& counters) {
    const auto all = routemq::detail::every_route(r);
    return routemq::detail::dispatcher(r, all, routemq::detail::plan_subscriptions(r, all, "g"),
                                       "bench", counters, routemq::load_settings({}, {}).handling);
}

/// Route selection by table size: with an MQTT 5 subscription identifier (range(1) = 1), or, as
/// under MQTT 3.1.1, through the topic trie of every route of the process (range(1) = 0).
void route_selection(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    auto r = table(n);
    null_counters counters;
    auto d = dispatcher_for(r, counters);
    null_publisher out;
    const auto m = message_for(n, state.range(1) == 1);
    for (auto _ : state) {
        d.dispatch(m, out);
    }
}
BENCHMARK(route_selection)->ArgNames({"routes", "by_id"})->ArgsProduct({{10, 100, 10000}, {0, 1}});

/// The linear scan the trie replaced: every route's filter matched against the topic, as
/// route selection without identifiers did before; the baseline for the trie's figure.
void linear_scan(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    auto r = table(n);
    const auto m = message_for(n, false);
    for (auto _ : state) {
        std::size_t hits = 0;
        for (const auto& rt : r.routes()) {
            hits += routemq::filter_matches(rt.pattern.filter(), m.topic) ? 1 : 0;
        }
        benchmark::DoNotOptimize(hits);
    }
}
BENCHMARK(linear_scan)->ArgNames({"routes"})->Arg(10)->Arg(100)->Arg(10000);

/// One route wrapped in `k` middleware that each call next.
void dispatch_with_middleware(benchmark::State& state) {
    const int k = static_cast<int>(state.range(0));
    routemq::router r;
    std::vector<routemq::middleware> layers(
        static_cast<std::size_t>(k),
        [](routemq::context& ctx, const routemq::handler& next) { next(ctx); });
    r.on("sensors/{id}/data", &handler, {.middleware = layers, .name = "h"});
    null_counters counters;
    auto d = dispatcher_for(r, counters);
    null_publisher out;
    routemq::message m;
    m.topic = "sensors/42/data";
    m.subscription_ids = {1};
    for (auto _ : state) {
        d.dispatch(m, out);
    }
}
BENCHMARK(dispatch_with_middleware)->Arg(0)->Arg(5)->Arg(20);

}  // namespace

BENCHMARK_MAIN();
