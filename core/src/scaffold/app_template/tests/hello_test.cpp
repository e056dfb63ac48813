// The application's routes on RouteMQ's in-process harness: the real router, dispatcher and
// middleware, no broker. Each deliver() says what ran, what was published, replied and
// dead-lettered, and what was logged.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <routemq/testing.hpp>
#include <string>
#include <vector>

#include "routers/routes.hpp"

namespace {

class hello_routes : public ::testing::Test {
protected:
    routemq::testing::harness app_{routers::register_all};
};

}  // namespace

TEST_F(hello_routes, AMessageIsHandledAndLogged) {
    const auto r = app_.deliver({.topic = "hello/42", .payload = "hi", .qos = 1});
    EXPECT_EQ(r.routes(), std::vector<std::string>{"hello/{id}"});
    EXPECT_TRUE(r.handled());
    EXPECT_TRUE(r.logged("hello: 2 bytes on hello/42"));
    EXPECT_TRUE(r.replies.empty()) << "not a request: nothing to answer";
}

TEST_F(hello_routes, ARequestIsAnsweredWithItsTopicAndParameters) {
    const auto r = app_.deliver({.topic = "hello/42",
                                 .payload = "hi",
                                 .qos = 1,
                                 .response_topic = "routemq/replies/me",
                                 .correlation_data = "c1"});
    EXPECT_EQ(r.statuses(), (std::vector<std::string>{"accepted", "done"}));
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(r.replies[1].correlation_data, "c1");
    EXPECT_EQ(r.replies[1].json(),
              nlohmann::json::parse(R"({"topic":"hello/42","params":{"id":"42"},"bytes":2})"));
}

TEST_F(hello_routes, ATopicNoRouteMatchesRunsNothing) {
    EXPECT_TRUE(app_.deliver({.topic = "goodbye/42"}).no_route);
}
