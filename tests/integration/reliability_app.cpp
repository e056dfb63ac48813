// An application whose handlers misbehave on request, for the reliability tests: a payload of
// "crash" kills the worker, "hang" never returns, and fail/... always throws.

#include <chrono>
#include <csignal>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

void work(routemq::context& ctx) {
    if (ctx.payload() == "crash") {
        std::raise(SIGSEGV);
    }
    if (ctx.payload() == "hang") {
        std::this_thread::sleep_for(std::chrono::hours(1));
    }
    ctx.publish("done/" + std::string(ctx.param("id")), ctx.payload(), 1);
}

void always_fails(routemq::context&) {
    throw std::runtime_error("always fails");
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        using namespace std::chrono_literals;
        r.on("work/{id}", &work, {.qos = 1, .shared = true, .worker_count = 2, .timeout = 1500ms});
        r.on("fail/{id}", &always_fails,
             {.qos = 1,
              .shared = true,
              .retry = routemq::retry_policy{.attempts = 3, .backoff = 10ms, .backoff_max = 40ms}});
    });
}
