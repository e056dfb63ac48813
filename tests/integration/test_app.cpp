// The example application plus routes that exercise the framework from the outside: every
// route reports what it saw by publishing under test/out/.

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <routemq/routemq.hpp>
#include <stdexcept>
#include <thread>

#include "middleware/json_required.hpp"
#include "routers/routes.hpp"

namespace {

void report(routemq::context& ctx, const std::string& what, nlohmann::json body) {
    body["route"] = ctx.pattern();
    body["topic"] = ctx.topic();
    ctx.publish("test/out/" + what, body, 1);
}

void test_routes(routemq::router& r) {
    r.on("test/hash/#", [](routemq::context& ctx) { report(ctx, "hash", {}); }, {.qos = 1});
    r.on("test/{a}/pair/{b}",
         [](routemq::context& ctx) {
             report(ctx, "pair", {{"a", ctx.param("a")}, {"b", ctx.param("b")}});
         },
         {.qos = 1});
    r.on("test/json",
         [](routemq::context& ctx) {
             report(ctx, "json", {{"body", ctx.json()}});
         },
         {.qos = 1, .middleware = {app::json_required()}});
    r.on("test/throw/{what}",
         [](routemq::context& ctx) {
             if (ctx.param("what") == "bad") {
                 throw std::runtime_error("handler refused a bad message");
             }
             report(ctx, "throw", {});
         },
         {.qos = 1});
    // A slow shared route: shutdown must let a started handler finish.
    r.on("test/slow/{id}",
         [](routemq::context& ctx) {
             spdlog::info("slow start {}", ctx.param("id"));
             std::this_thread::sleep_for(std::chrono::milliseconds(300));
             report(ctx, "slow", {{"id", ctx.param("id")}});
             spdlog::info("slow done {}", ctx.param("id"));
         },
         {.qos = 1, .shared = true, .worker_count = 2});
    // Overlapping routes: shared and not, so copies arrive through different subscriptions.
    auto overlap = [](routemq::context& ctx) { report(ctx, "ov", {}); };
    r.on("ov/+/x", overlap, {.qos = 1, .shared = true});
    r.on("ov/#", overlap, {.qos = 1, .shared = true});
    r.on("ov/a/+", overlap, {.qos = 1});
    r.on("solo/+/x", overlap, {.qos = 1});
    r.on("solo/#", overlap, {.qos = 1});
    // Request/response: a progress status, then the answer (or a failure for "fail").
    r.on("test/request/{id}",
         [](routemq::context& ctx) {
             ctx.progress(0.5, "half way");
             if (ctx.payload() == "fail") {
                 throw std::runtime_error("refused by the handler");
             }
             ctx.reply(nlohmann::json{{"id", ctx.param("id")}, {"asked", ctx.payload()}});
         },
         {.qos = 1, .retry = routemq::retry_policy{.attempts = 1}});
    // Trace context: the handler logs, reports what it saw of its trace and publishes again.
    r.on("test/trace/{id}",
         [](routemq::context& ctx) {
             spdlog::info("tracing {}", ctx.param("id"));
             report(ctx, "trace",
                    {{"trace_id", std::string(ctx.trace_id())},
                     {"span_id", std::string(ctx.span_id())},
                     {"parent_span_id", std::string(ctx.parent_span_id())},
                     {"traceparent", ctx.traceparent()}});
             ctx.publish("test/out/trace-again", "x", 1);
         },
         {.qos = 1});
    // A wildcard route whose handler publishes to a topic it matches: No Local keeps the
    // process's own publish away from it, or it would handle its own output forever.
    r.on("loop/#",
         [](routemq::context& ctx) {
             report(ctx, "loop", {});
             ctx.publish("loop/again", "x", 1);
         },
         {.qos = 1, .no_local = true});
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        routers::register_all(r);
        test_routes(r);
    });
}
