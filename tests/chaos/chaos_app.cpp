// The application the chaos runs (tests/chaos/chaos.cpp) break: one shared QoS 1 route whose
// handler writes the message's id to a ledger file once it has done its work, so the runner can
// count what was handled, and twice, without trusting the broker that it is breaking. A payload
// of "crash" kills the worker, "hang" never returns, "wildcard" publishes to a wildcard topic (a
// handler's mistake: it must fail that message, not the worker).
//
// CHAOS_LEDGER     the file the ids are appended to (one line each; O_APPEND, so the lines of
//                  several processes never mix)
// CHAOS_HANDLER_US how long each message's work takes (default 500 microseconds)

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

std::chrono::microseconds work_time{500};
int ledger = -1;

void handle(routemq::context& ctx) {
    if (ctx.payload() == "crash") {
        std::raise(SIGSEGV);
    }
    if (ctx.payload() == "hang") {
        std::this_thread::sleep_for(std::chrono::hours(1));
    }
    if (ctx.payload() == "wildcard") {
        ctx.publish("chaos-out/+/total", "x", 1);
    }
    std::this_thread::sleep_for(work_time);
    const std::string line = std::string(ctx.param("id")) + "\n";
    if (write(ledger, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("ledger write failed");  // retried, then dead-lettered
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* us = std::getenv("CHAOS_HANDLER_US")) {
        work_time = std::chrono::microseconds(std::atoi(us));
    }
    const char* path = std::getenv("CHAOS_LEDGER");
    ledger =
        open(path != nullptr ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        using namespace std::chrono_literals;
        r.on("chaos/{id}", &handle, {.qos = 1, .shared = true, .worker_count = 3, .timeout = 1s});
    });
}
