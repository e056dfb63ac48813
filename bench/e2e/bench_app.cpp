// The framework side of the end-to-end benchmark: the same work as baseline_worker, written as a
// RouteMQ application. BENCH_QOS (0 or 1) sets the route's and the reply's QoS. The request route
// (QoS 1, as requests are) answers each request with its payload, like baseline_responder.

#include <cstdlib>
#include <routemq/routemq.hpp>
#include <string>

namespace bench {

int bench_qos() {
    const char* q = std::getenv("BENCH_QOS");
    return q != nullptr && std::string(q) == "1" ? 1 : 0;
}

void echo_done(routemq::context& ctx) {
    ctx.publish("bench/" + std::string(ctx.param("id")) + "/done", ctx.payload(), ctx.qos());
}

void echo_reply(routemq::context& ctx) {
    ctx.reply(ctx.payload());
}

}  // namespace bench

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("bench/{id}/data", &bench::echo_done,
             {.qos = bench::bench_qos(), .shared = true, .worker_count = 1});
        r.on("bench/{id}/request", &bench::echo_reply,
             {.qos = 1, .shared = true, .worker_count = 1});
    });
}
