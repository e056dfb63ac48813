// An application for the priority tests: bulk/{id} (low priority) and urgent/{id} (high, with
// URGENT_CONCURRENCY handler slots, 1 when unset), both shared; started with --workers 1 one
// worker serves both. A handler waits as many milliseconds
// as the payload says and answers on done/<route>/<id> with the monotonic times (ns) it started
// and ended, separated by a space.

#include <chrono>
#include <cstdlib>
#include <routemq/routemq.hpp>
#include <string>
#include <thread>

namespace {

void handle(routemq::context& ctx, const char* route) {
    const auto started = std::chrono::steady_clock::now().time_since_epoch().count();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(ctx.payload()))));
    const auto ended = std::chrono::steady_clock::now().time_since_epoch().count();
    ctx.publish(std::string("done/") + route + "/" + std::string(ctx.param("id")),
                std::to_string(started) + " " + std::to_string(ended), 1);
}

void bulk(routemq::context& ctx) {
    handle(ctx, "bulk");
}

void urgent(routemq::context& ctx) {
    handle(ctx, "urgent");
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("bulk/{id}", &bulk, {.qos = 1, .shared = true, .priority = routemq::priority::low});
        const char* concurrency = std::getenv("URGENT_CONCURRENCY");
        r.on("urgent/{id}", &urgent,
             {.qos = 1,
              .shared = true,
              .concurrency = concurrency != nullptr ? std::atoi(concurrency) : 1,
              .priority = routemq::priority::high});
    });
}
