// The framework side of the end-to-end benchmark: the same work as baseline_worker, written as a
// RouteMQ application. BENCH_QOS (0 or 1) sets the route's and the reply's QoS. The request route
// (QoS 1, as requests are) answers each request with its payload, like baseline_responder.
// With BENCH_SLOW_CONCURRENCY=N it serves only bench/{id}/slow instead: a handler that waits
// 10 ms (as on I/O) before it answers, with route option concurrency N.

#include <chrono>
#include <cstdlib>
#include <routemq/routemq.hpp>
#include <string>
#include <thread>

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

void wait_then_answer(routemq::context& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ctx.publish("bench/" + std::string(ctx.param("id")) + "/done", ctx.payload(), 1);
}

}  // namespace bench

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        if (const char* slots = std::getenv("BENCH_SLOW_CONCURRENCY")) {
            r.on("bench/{id}/slow", &bench::wait_then_answer,
                 {.qos = 1, .shared = true, .concurrency = std::atoi(slots)});
            return;
        }
        r.on("bench/{id}/data", &bench::echo_done,
             {.qos = bench::bench_qos(), .shared = true, .worker_count = 1});
        r.on("bench/{id}/request", &bench::echo_reply,
             {.qos = 1, .shared = true, .worker_count = 1});
    });
}
