// An application for the concurrency tests. meet/{id} (concurrency 4) proves that four handlers
// run at once: each leaves a mark in RENDEZVOUS_DIR and waits, up to 10 s, until four marks are
// there; with fewer slots it would wait alone and say so. pace/{id} (concurrency 4) takes 20 ms.
// hold/{id} (one slot) waits until RENDEZVOUS_DIR/release exists (up to 30 s).

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <routemq/routemq.hpp>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

constexpr int kSlots = 4;

long marks(const std::filesystem::path& dir) {
    return std::distance(std::filesystem::directory_iterator(dir),
                         std::filesystem::directory_iterator());
}

void meet(routemq::context& ctx) {
    const char* dir = std::getenv("RENDEZVOUS_DIR");
    if (dir == nullptr) {
        throw std::runtime_error("RENDEZVOUS_DIR is not set");
    }
    const std::string id(ctx.param("id"));
    std::ofstream(std::filesystem::path(dir) / id) << getpid();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (marks(dir) < kSlots && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    ctx.publish("met/" + id, std::to_string(marks(dir)) + " " + std::to_string(getpid()), 1);
}

void pace(routemq::context& ctx) {
    std::this_thread::sleep_for(20ms);
    ctx.publish("paced/" + std::string(ctx.param("id")), std::to_string(getpid()), 1);
}

void hold(routemq::context& ctx) {
    const auto release = std::filesystem::path(std::getenv("RENDEZVOUS_DIR")) / "release";
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(release) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    ctx.publish("held/" + std::string(ctx.param("id")), "", 1);
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("meet/{id}", &meet, {.qos = 1, .shared = true, .concurrency = kSlots});
        r.on("pace/{id}", &pace, {.qos = 1, .shared = true, .concurrency = kSlots});
        r.on("hold/{id}", &hold, {.qos = 1, .shared = true});
    });
}
