// The dashboard's data (http/dashboard.hpp): what GET /api/pod makes of the pod region, the
// history it plots, the handler-time quantiles, the token check; and the endpoint itself on a
// loopback port (no broker): the page's headers, and actions refused without the token.

#include "http/dashboard.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/health_server.hpp"

namespace {

using namespace std::chrono_literals;
using routemq::detail::kDurationBuckets;
using routemq::detail::outcome;

routemq::router two_routes() {
    routemq::router r;
    r.on("orders/{id}", [](routemq::context&) {}, {.qos = 1, .shared = true, .worker_count = 2});
    r.on("alerts/+", [](routemq::context&) {}, {.qos = 0});
    return r;
}

TEST(Dashboard, QuantilesInterpolateWithinTheirBucketAsPrometheusDoes) {
    std::array<std::uint64_t, kDurationBuckets.size() + 1> runs{};
    EXPECT_EQ(routemq::detail::quantile_ms(runs, 0.5), 0);
    runs[3] = 100;  // (0.5 ms, 1 ms]
    EXPECT_DOUBLE_EQ(routemq::detail::quantile_ms(runs, 0.5), 0.75);
    EXPECT_DOUBLE_EQ(routemq::detail::quantile_ms(runs, 1.0), 1.0);
    runs[kDurationBuckets.size()] = 100;  // beyond 5 s
    EXPECT_DOUBLE_EQ(routemq::detail::quantile_ms(runs, 0.99), 5000);
    EXPECT_DOUBLE_EQ(routemq::detail::quantile_ms(runs, 0.25), 0.75);
}

TEST(Dashboard, PodJsonIsReadFromTheRegionAndThePlan) {
    const auto r = two_routes();
    const auto plan = routemq::detail::plan_pod(r, 0, {}, {});
    auto model = routemq::detail::model_of_pod(r, plan, {});
    model.app = "shop";
    model.actions = false;
    auto region = routemq::detail::pod_region::create(plan.process_count() + 1, r.routes().size());
    region->process(1).pid.store(4711);
    region->process(1).state.store(routemq::detail::slot_state::serving);
    region->process(1).restarts.store(2);
    region->process(1).busy_ppm.store(250000);
    region->record(1, 0, outcome::handled, 800'000);
    region->record(2, 0, outcome::handler_error, 800'000);
    region->begin_work(2, 0, "orders/9", 99, 0ms);
    region->manager().dead_letters_loaded.store(1);
    region->manager().dead_letters_kept.store(7);
    region->scaling(0).workers.store(2);

    const auto j = routemq::detail::pod_json(model, *region, 1765140000000,
                                             [](pid_t pid) { return pid == 4711 ? 2048U : 0U; });
    EXPECT_EQ(j["app"], "shop");
    EXPECT_EQ(j["mode"], "workers");
    EXPECT_FALSE(j["actions"].get<bool>());
    ASSERT_EQ(j["processes"].size(), plan.process_count());
    const auto& w1 = j["processes"][0];
    EXPECT_EQ(w1["process"], "w1");
    EXPECT_EQ(w1["worker"], 1);
    EXPECT_EQ(w1["pid"], 4711);
    EXPECT_EQ(w1["state"], "serving");
    EXPECT_EQ(w1["handled"], 1);
    EXPECT_EQ(w1["restarts"], 2);
    EXPECT_EQ(w1["rss_kb"], 2048);
    EXPECT_DOUBLE_EQ(w1["busy_percent"].get<double>(), 25.0);
    EXPECT_TRUE(w1["message"].is_null());
    EXPECT_EQ(w1["routes"], nlohmann::json::array({"orders/{id}"}));
    const auto& w2 = j["processes"][1];
    EXPECT_EQ(w2["rss_kb"], 0) << "not running: no memory read";
    ASSERT_TRUE(w2["message"].is_object());
    EXPECT_EQ(w2["message"]["topic"], "orders/9");
    EXPECT_EQ(w2["message"]["route"], "orders/{id}");
    const auto& orders = j["routes"][0];
    EXPECT_EQ(orders["route"], "orders/{id}");
    EXPECT_EQ(orders["runs"], 2);
    EXPECT_EQ(orders["handled"], 1);
    EXPECT_EQ(orders["workers"], 2);
    EXPECT_EQ(orders["max_workers"], 2);
    EXPECT_DOUBLE_EQ(orders["p50_ms"].get<double>(), 0.75);
    EXPECT_EQ(j["dead_letters"]["kept"], 7);
    EXPECT_TRUE(j["dead_letters"]["available"].get<bool>());
    EXPECT_EQ(j["history"]["routes"].size(), 2U);
    EXPECT_TRUE(j["history"]["routes"][0]["in_per_s"].empty());
}

TEST(Dashboard, HistoryKeepsTheLastMinutesOfRatesAndBusy) {
    const auto r = two_routes();
    auto region = routemq::detail::pod_region::create(1, r.routes().size());
    routemq::detail::history_recorder history(/*measure_busy=*/true);
    const auto t0 = std::chrono::steady_clock::time_point(100s);
    history.tick(*region, t0);  // the first tick only takes the totals
    for (int i = 0; i < 10; ++i) {
        region->record(0, 0, outcome::handled, 100'000'000);  // 0.1 s each: 1 s in 2 s
    }
    history.tick(*region, t0 + 1s);  // too soon: nothing
    history.tick(*region, t0 + 2s);
    const auto model = routemq::detail::model_of_single(r, {0, 1});
    auto j = routemq::detail::pod_json(model, *region, 0, [](pid_t) { return 0U; });
    const auto& orders = j["history"]["routes"][0];
    ASSERT_EQ(orders["in_per_s"].size(), 1U);
    EXPECT_DOUBLE_EQ(orders["in_per_s"][0].get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(orders["out_per_s"][0].get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(orders["busy_percent"][0].get<double>(), 50.0);
    EXPECT_DOUBLE_EQ(j["routes"][0]["in_per_s"].get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(j["processes"][0]["busy_percent"].get<double>(), 50.0);
    EXPECT_EQ(j["routes"][0]["workers"], 1);
    for (int i = 0; i < static_cast<int>(routemq::detail::kHistorySamples) + 5; ++i) {
        history.tick(*region, t0 + 4s + i * 2s);
    }
    j = routemq::detail::pod_json(model, *region, 0, [](pid_t) { return 0U; });
    EXPECT_EQ(j["history"]["routes"][0]["in_per_s"].size(), routemq::detail::kHistorySamples);
    EXPECT_DOUBLE_EQ(j["history"]["routes"][0]["in_per_s"].back().get<double>(), 0.0);
}

TEST(Dashboard, OnlyTheTokenItselfMatches) {
    const std::string token = "s3cret-token-0123456789";
    EXPECT_TRUE(routemq::detail::token_matches(token, token));
    EXPECT_FALSE(routemq::detail::token_matches(token, ""));
    EXPECT_FALSE(routemq::detail::token_matches(token, token.substr(0, token.size() - 1)));
    EXPECT_FALSE(routemq::detail::token_matches(token, token + "x"));
    EXPECT_FALSE(routemq::detail::token_matches(token, "S3cret-token-0123456789"));
    EXPECT_FALSE(routemq::detail::token_matches("", "")) << "no token: no action";
}

/// A free port of 127.0.0.1, as the kernel picks one.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// A health_server with a dashboard whose backend records what it was asked.
struct served_dashboard {
    explicit served_dashboard(std::string token) {
        auto d = std::make_shared<routemq::detail::dashboard_backend>();
        d->token = std::move(token);
        d->pod = [] { return nlohmann::json{{"app", "shop"}}; };
        d->dead_letters = [](const routemq::detail::dead_letter_filter& f) {
            return nlohmann::json{{"route", f.route}, {"reason", f.reason}};
        };
        d->dead_letter = [](const std::string&) { return std::nullopt; };
        const auto record = [this](std::string what) {
            return [this, what](const std::string& argument) {
                commands.push_back(what + argument);
                return routemq::detail::action_answer{.ok = true, .text = "done"};
            };
        };
        d->replay = record("replay ");
        d->purge = record("purge ");
        d->ctl = record("");
        server = std::make_unique<routemq::detail::health_server>(
            "127.0.0.1", port, routemq::detail::pod_region::create(1, 0),
            std::vector<std::string>{}, d);
    }
    int port = free_port();
    std::vector<std::string> commands;
    std::unique_ptr<routemq::detail::health_server> server;
};

TEST(Dashboard, ThePageAndItsDataAreServedWithHeadersThatKeepItToItself) {
    served_dashboard d("");
    httplib::Client http("127.0.0.1", d.port);
    const auto page = http.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("connect-src 'self'"),
              std::string::npos);
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_NE(page->body.find("<html"), std::string::npos);
    for (const char* elsewhere : {"src=\"http", "href=\"http", "url(http", "@import",
                                  "fetch(\"http", "fetch('http", "<script src", "stylesheet"}) {
        EXPECT_EQ(page->body.find(elsewhere), std::string::npos) << "fetches from elsewhere";
    }
    const auto pod = http.Get("/api/pod");
    ASSERT_TRUE(pod);
    EXPECT_EQ(nlohmann::json::parse(pod->body)["app"], "shop");
    const auto listed = http.Get("/api/dead-letters?route=orders%2F%7Bid%7D&reason=failed");
    ASSERT_TRUE(listed);
    EXPECT_EQ(nlohmann::json::parse(listed->body)["route"], "orders/{id}");
    EXPECT_EQ(nlohmann::json::parse(listed->body)["reason"], "failed");
    const auto missing = http.Get("/api/dead-letters/1765140000123-9f86d081a1b2c3d4");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    const auto bad = http.Get("/api/dead-letters/not-an-id");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    const auto outside = http.Get("/api/dead-letters/..%2F..%2Fetc%2Fpasswd");
    ASSERT_TRUE(outside);
    EXPECT_EQ(outside->status, 404);
}

TEST(Dashboard, ActionsAreOffWithoutATokenAndRefusedWithAWrongOne) {
    const std::string id = "1765140000123-9f86d081a1b2c3d4";
    {
        served_dashboard off("");
        httplib::Client http("127.0.0.1", off.port);
        const auto r =
            http.Post("/api/dead-letters/" + id + "/replay",
                      httplib::Headers{{"X-RouteMQ-Token", ""}}, "{}", "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 403);
        EXPECT_NE(r->body.find("DASHBOARD_TOKEN"), std::string::npos);
        EXPECT_TRUE(off.commands.empty());
    }
    const std::string token = "s3cret-token-0123456789";
    served_dashboard on(token);
    httplib::Client http("127.0.0.1", on.port);
    const auto post = [&](const std::string& path, const std::string& given,
                          const std::string& body = "{}") {
        return http.Post(path, httplib::Headers{{"X-RouteMQ-Token", given}}, body,
                         "application/json");
    };
    auto r = post("/api/dead-letters/" + id + "/replay", "wrong-token-0123456789");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    r = http.Post("/api/reload", "{}", "application/json");  // no header at all
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_TRUE(on.commands.empty());
    EXPECT_EQ(r->body.find(token), std::string::npos);

    r = post("/api/dead-letters/" + id + "/replay", token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(nlohmann::json::parse(r->body)["ok"], true);
    r = post("/api/dead-letters/" + id + "/purge", token);
    EXPECT_EQ(r->status, 200);
    r = post("/api/scale", token, R"({"route": "orders/{id}", "workers": 2})");
    EXPECT_EQ(r->status, 200);
    r = post("/api/recycle", token, R"({"process": "w3"})");
    EXPECT_EQ(r->status, 200);
    r = post("/api/reload", token);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(on.commands,
              (std::vector<std::string>{"replay " + id, "purge " + id, "scale orders/{id} 2",
                                        "recycle w3", "reload"}));

    // What a client sends is checked before anything acts on it.
    for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
             {"/api/dead-letters/not-an-id/replay", "{}"},
             {"/api/scale", R"({"route": "orders/{id}", "workers": -1})"},
             {"/api/scale", R"({"route": "orders/{id}", "workers": "2"})"},
             {"/api/scale", R"({"workers": 2})"},
             {"/api/recycle", R"({"process": "w3; reboot"})"},
             {"/api/recycle", R"({"process": "main"})"},
             {"/api/reload", "not json"},
             {"/api/reload", "[1]"}}) {
        r = post(path, token, body);
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 400) << path << " " << body;
    }
    EXPECT_EQ(on.commands.size(), 5U);
}

}  // namespace
