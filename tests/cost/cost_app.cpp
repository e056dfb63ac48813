// The application whose hot path the cost gate measures (tests/cost/README.md): one route per
// path a message can take through a worker. Every result is published at the input's QoS, so
// at QoS 1 it is confirmed by the broker before the input is acknowledged.
//
// With COST_EXTRA_ALLOCATION=1 every handler makes one more heap allocation: the gate's own
// test shows that the gate sees it.

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <string>

namespace {

const bool extra_allocation = [] {
    const char* v = std::getenv("COST_EXTRA_ALLOCATION");
    return v != nullptr && std::string(v) == "1";
}();

void maybe_allocate() {
    if (extra_allocation) {
        auto block = std::make_unique<char[]>(64);
        asm volatile("" : : "r"(block.get()) : "memory");  // kept: the compiler may not elide it
    }
}

std::string done_topic(routemq::context& ctx) {
    return "cost/" + std::string(ctx.param("id")) + "/done";
}

/// QoS 1 and QoS 0: the result is the input.
void echo(routemq::context& ctx) {
    maybe_allocate();
    ctx.publish(done_topic(ctx), ctx.payload(), ctx.qos());
}

/// The example application's kind of work: a JSON reading in, a JSON result out.
void reading(routemq::context& ctx) {
    maybe_allocate();
    const auto& in = ctx.json();
    ctx.publish(done_topic(ctx), nlohmann::json{{"reading", in}, {"ok", true}}, 1);
}

/// Request/response: the reply goes to the request's Response Topic.
void answer(routemq::context& ctx) {
    maybe_allocate();
    ctx.reply(ctx.payload());
}

/// Fails at once: dead-lettered without a retry.
void fail(routemq::context&) {
    maybe_allocate();
    throw std::runtime_error("cost gate: this handler always fails");
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("cost/{id}/q1", &echo, {.qos = 1});
        r.on("cost/{id}/q0", &echo, {.qos = 0});
        r.on("cost/{id}/json", &reading,
             {.qos = 1, .middleware = {[](routemq::context& ctx, const routemq::handler& next) {
                            (void)ctx.json();  // like the example's json_required
                            next(ctx);
                        }}});
        r.on("cost/{id}/ask", &answer, {.qos = 1});
        r.on("cost/{id}/fail", &fail, {.qos = 1, .retry = routemq::retry_policy{.attempts = 1}});
    });
}
