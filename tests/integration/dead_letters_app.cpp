// An application whose orders fail while their database is "down" (the file ORDERS_DOWN_FILE
// names exists), for the dead-letter store and dashboard tests: an operator sees the failures,
// "fixes" the database (removes the file) and replays them.

#include <filesystem>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <string>

namespace {

void place(routemq::context& ctx) {
    const char* down = std::getenv("ORDERS_DOWN_FILE");
    if (down != nullptr && std::filesystem::exists(down)) {
        throw std::runtime_error("the orders database is down");
    }
    // The result says which order it was and the tenant it came with (a user property), so a
    // test sees that a replay keeps the original properties.
    ctx.publish(
        "done/" + std::string(ctx.param("id")),
        std::string(ctx.payload()) + "|" + routemq::property_value(ctx.user_properties(), "tenant"),
        1);
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        using namespace std::chrono_literals;
        r.on("orders/{id}", &place,
             {.qos = 1,
              .shared = true,
              .worker_count = 2,
              .retry = routemq::retry_policy{.attempts = 2, .backoff = 1ms, .backoff_max = 1ms}});
    });
}
