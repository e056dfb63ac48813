// In-process micro-benchmarks (Google Benchmark): route matching by table size, and the whole
// dispatch path (matching, context, middleware chain, handler) by number of middleware.

#include <benchmark/benchmark.h>

#include <routemq/dispatcher.hpp>
#include <routemq/router.hpp>
#include <string>

namespace {

class null_publisher : public routemq::publisher {
public:
    void publish(const std::string&, std::string_view, int, bool) override {}
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

/// Route selection by table size: with an MQTT 5 subscription identifier (range(1) = 1), or, as
/// under MQTT 3.1.1, by matching the topic against every route of the process (range(1) = 0).
void route_selection(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    auto r = table(n);
    routemq::dispatcher d(r, "g", "bench");
    null_publisher out;
    const auto m = message_for(n, state.range(1) == 1);
    for (auto _ : state) {
        d.dispatch(m, out);
    }
}
BENCHMARK(route_selection)->ArgNames({"routes", "by_id"})->ArgsProduct({{10, 100, 10000}, {0, 1}});

/// One route wrapped in `k` middleware that each call next.
void dispatch_with_middleware(benchmark::State& state) {
    const int k = static_cast<int>(state.range(0));
    routemq::router r;
    std::vector<routemq::middleware> layers(
        static_cast<std::size_t>(k),
        [](routemq::context& ctx, const routemq::handler& next) { next(ctx); });
    r.on("sensors/{id}/data", &handler, {.middleware = layers, .name = "h"});
    routemq::dispatcher d(r, "g", "bench");
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
