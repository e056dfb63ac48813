// An application whose handlers make the mistakes and meet the clients that used to wedge a
// worker: a wildcard publish, a result the broker refuses or cannot take, a hung handler. Every
// route is unshared, so with --workers they all share one worker (w1): `h/ping` answering shows
// that worker still serves.

#include <chrono>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

void hostile_routes(routemq::router& r) {
    const routemq::route_options once = {.qos = 1, .retry = routemq::retry_policy{.attempts = 1}};
    r.on(
        "h/ping/{id}",
        [](routemq::context& ctx) {
            ctx.publish("h-out/pong/" + std::string(ctx.param("id")), "pong", 1);
        },
        once);
    r.on(
        "h/wild/{id}", [](routemq::context& ctx) { ctx.publish("fleet/+/aggregate", "x", 1); },
        once);
    r.on(
        "h/acl/{id}", [](routemq::context& ctx) { ctx.publish("denied/result", "r", 1); }, once);
    // The broker of the test has retain_available false: refused before it is sent.
    r.on(
        "h/retain/{id}",
        [](routemq::context& ctx) { ctx.publish("h-out/retained", "r", 1, /*retain=*/true); },
        once);
    // ... and max_qos 1: it drops the connection over this.
    r.on(
        "h/qos2/{id}", [](routemq::context& ctx) { ctx.publish("h-out/qos2", "r", 2); }, once);
    r.on(
        "h/big/{id}",
        [](routemq::context& ctx) { ctx.publish("h-out/big", std::string(95000, 'b'), 1); }, once);
    r.on(
        "h/req/{id}",
        [](routemq::context& ctx) { ctx.reply("answer " + std::string(ctx.param("id"))); }, once);
    // What a confused deputy would be made to feed: a command route of the same application.
    r.on(
        "h/cmd/{id}", [](routemq::context& ctx) { ctx.publish("h-out/cmd-ran", ctx.payload(), 1); },
        once);
    r.on(
        "h/fail/#", [](routemq::context&) { throw std::runtime_error("always fails"); }, once);
    r.on("h/hang/{id}",
         [](routemq::context&) {
             while (true) {
                 std::this_thread::sleep_for(std::chrono::seconds(1));
             }
         },
         {.qos = 1, .timeout = std::chrono::seconds(2)});
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, hostile_routes);
}
