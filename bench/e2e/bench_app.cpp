// The framework side of the end-to-end benchmark: the same work as baseline_worker, written as a
// RouteMQ application. BENCH_QOS (0 or 1) sets the route's and the reply's QoS.

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

}  // namespace bench

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("bench/{id}/data", &bench::echo_done,
             {.qos = bench::bench_qos(), .shared = true, .worker_count = 1});
    });
}
