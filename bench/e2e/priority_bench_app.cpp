// The application of the priority benchmark: two shared QoS 1 routes, bulk/{id} and urgent/{id},
// whose handlers are busy 2 ms (a sleep, as a handler waiting on I/O is) and then publish the
// payload they got on results/bulk/<id> or results/urgent/<id>. With BENCH_PRIORITIES=1, urgent
// has priority high and bulk low; otherwise both keep the default, normal. Started with
// --workers 1, one worker (one handler slot) serves both routes: with priorities it is a lane of
// one process per priority sharing that slot, without them one process.

#include <chrono>
#include <cstdlib>
#include <routemq/routemq.hpp>
#include <string>
#include <thread>

namespace {

void busy_then_answer(routemq::context& ctx, const char* route) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ctx.publish(std::string("results/") + route + "/" + std::string(ctx.param("id")), ctx.payload(),
                1);
}

void bulk(routemq::context& ctx) {
    busy_then_answer(ctx, "bulk");
}

void urgent(routemq::context& ctx) {
    busy_then_answer(ctx, "urgent");
}

}  // namespace

int main(int argc, char** argv) {
    const char* setting = std::getenv("BENCH_PRIORITIES");
    const bool priorities = setting != nullptr && std::string(setting) == "1";
    return routemq::run_cli(argc, argv, [priorities](routemq::router& r) {
        r.on("bulk/{id}", &bulk,
             {.qos = 1,
              .shared = true,
              .priority = priorities ? routemq::priority::low : routemq::priority::normal});
        r.on("urgent/{id}", &urgent,
             {.qos = 1,
              .shared = true,
              .priority = priorities ? routemq::priority::high : routemq::priority::normal});
    });
}
