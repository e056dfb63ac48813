// W3C Trace Context end to end: a real mosquitto, the test application's `test/trace/{id}` route
// (it logs, reports what it saw of its trace on test/out/trace and publishes test/out/trace-again)
// and a user-side MQTT 5 client that sends `traceparent` user properties.

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kTraceId = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* kParentId = "b7ad6b7169203331";
/// Flags 00 (not sampled): a trace RouteMQ starts has 01, so a copy is told from a default.
const std::string kIncoming = std::string("00-") + kTraceId + "-" + kParentId + "-00";
const std::string kTracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";

bool is_hex_id(const std::string& text, std::size_t length) {
    return text.size() == length && text.find_first_not_of("0123456789abcdef") == text.npos &&
           text.find_first_not_of('0') != text.npos;
}

/// The fields of a version 00 `traceparent`, checked: nullopt when it is not one.
struct traceparent {
    std::string trace_id, parent_id, flags;
};
std::optional<traceparent> split(const std::string& value) {
    if (value.size() != 55 || value.compare(0, 3, "00-") != 0 || value[35] != '-' ||
        value[52] != '-') {
        return std::nullopt;
    }
    traceparent t{value.substr(3, 32), value.substr(36, 16), value.substr(53, 2)};
    if (!is_hex_id(t.trace_id, 32) || !is_hex_id(t.parent_id, 16) ||
        t.flags.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return std::nullopt;
    }
    return t;
}

/// The JSON log line (LOG_FORMAT=json) whose message is `msg`.
std::optional<json> log_entry(const std::string& output, const std::string& msg) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
        auto entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (entry.is_object() && entry.value("msg", "") == msg) {
            return entry;
        }
    }
    return std::nullopt;
}

class tracing_test : public ::testing::Test {
protected:
    std::unique_ptr<test::child_process> start_app(std::map<std::string, std::string> env,
                                                   const char* executable = ROUTEMQ_TEST_APP) {
        env["LOG_FORMAT"] = "json";
        auto app = test::start_app(executable, broker_.port(), {}, std::move(env));
        EXPECT_TRUE(app->wait_for_output("serving", 10s)) << app->output();
        return app;
    }

    /// What the route published for one message: its report and its second publish, by topic.
    std::map<std::string, test::received> outputs(test::test_client& client) {
        std::map<std::string, test::received> by_topic;
        for (auto& m : client.collect(2, 5s)) {
            by_topic[m.topic] = std::move(m);
        }
        return by_topic;
    }

    test::mosquitto_broker broker_;
};

}  // namespace

TEST_F(tracing_test, ATraceparentSentInArrivesOnEveryPublishOfTheHandlerWithTheSameTraceId) {
    auto app = start_app({});
    test::test_client client(broker_.port(), "itest-trace-" + std::to_string(getpid()), true,
                             /*mqtt5=*/true);
    client.subscribe("test/out/#");
    client.publish("test/trace/1", "x", 1,
                   {{"traceparent", kIncoming}, {"tracestate", kTracestate}});
    auto got = outputs(client);
    ASSERT_EQ(got.size(), 2u) << app->output();
    const auto& report = got["test/out/trace"];
    const auto& again = got["test/out/trace-again"];

    const auto sent = split(report.property("traceparent"));
    ASSERT_TRUE(sent) << report.property("traceparent");
    EXPECT_EQ(sent->trace_id, kTraceId);
    EXPECT_NE(sent->parent_id, kParentId);  // the handler's span, a new one
    EXPECT_EQ(sent->flags, "00");
    EXPECT_EQ(report.property("tracestate"), kTracestate);
    // One span per handler run: both publishes name it.
    EXPECT_EQ(again.property("traceparent"), report.property("traceparent"));
    EXPECT_EQ(again.property("tracestate"), kTracestate);

    // What the handler saw.
    const auto body = json::parse(report.payload);
    EXPECT_EQ(body["trace_id"], kTraceId);
    EXPECT_EQ(body["span_id"], sent->parent_id);
    EXPECT_EQ(body["parent_span_id"], kParentId);
    EXPECT_EQ(body["traceparent"], report.property("traceparent"));

    // And its log line.
    ASSERT_TRUE(app->wait_for_output("tracing 1", 5s)) << app->output();
    const auto line = log_entry(app->output(), "tracing 1");
    ASSERT_TRUE(line) << app->output();
    EXPECT_EQ((*line)["trace_id"], kTraceId);
    EXPECT_EQ((*line)["span_id"], sent->parent_id);
}

TEST_F(tracing_test, TheExampleApplicationsResultCarriesTheTraceOfItsReading) {
    // No route of the example has no_local, so handlers publish without any other property.
    auto app = start_app({}, ROUTEMQ_EXECUTABLE);
    test::test_client client(broker_.port(), "itest-trace-" + std::to_string(getpid()), true,
                             /*mqtt5=*/true);
    client.subscribe("sensors/+/processed");
    client.publish("sensors/42/data", R"({"temp":21.5})", 1, {{"traceparent", kIncoming}});
    const auto out = client.next(5s);
    ASSERT_TRUE(out) << app->output();
    const auto sent = split(out->property("traceparent"));
    ASSERT_TRUE(sent) << out->property("traceparent");
    EXPECT_EQ(sent->trace_id, kTraceId);
    EXPECT_NE(sent->parent_id, kParentId);
    EXPECT_EQ(sent->flags, "00");
    // The log_requests middleware's line, written around the handler.
    ASSERT_TRUE(app->wait_for_output("handled in", 5s)) << app->output();
    std::istringstream lines(app->output());
    int traced = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.find("handled in") != std::string::npos) {
            const auto entry = json::parse(line);
            EXPECT_EQ(entry["trace_id"], kTraceId) << line;
            EXPECT_EQ(entry["span_id"], sent->parent_id) << line;
            ++traced;
        }
    }
    EXPECT_EQ(traced, 1) << app->output();
}

TEST_F(tracing_test, AMessageWithoutAValidTraceparentStartsATrace) {
    auto app = start_app({});
    test::test_client client(broker_.port(), "itest-trace-" + std::to_string(getpid()), true,
                             /*mqtt5=*/true);
    client.subscribe("test/out/#");
    std::map<std::string, std::string> trace_ids;
    for (const auto& [id, properties] :
         std::map<std::string, std::vector<std::pair<std::string, std::string>>>{
             {"2", {}},
             {"3",
              {{"traceparent", std::string("00-") + kTraceId + "-0000000000000000-01"},
               {"tracestate", kTracestate}}}}) {
        client.publish("test/trace/" + id, "x", 1, properties);
        auto got = outputs(client);
        ASSERT_EQ(got.size(), 2u) << app->output();
        const auto& report = got["test/out/trace"];
        const auto sent = split(report.property("traceparent"));
        ASSERT_TRUE(sent) << report.property("traceparent");
        EXPECT_NE(sent->trace_id, kTraceId);
        EXPECT_EQ(sent->flags, "01");
        EXPECT_EQ(report.property("tracestate"), "");  // meaningless without its traceparent
        EXPECT_EQ(got["test/out/trace-again"].property("traceparent"),
                  report.property("traceparent"));
        const auto body = json::parse(report.payload);
        EXPECT_EQ(body["trace_id"], sent->trace_id);
        EXPECT_EQ(body["parent_span_id"], "");
        ASSERT_TRUE(app->wait_for_output("tracing " + id, 5s)) << app->output();
        const auto line = log_entry(app->output(), "tracing " + id);
        ASSERT_TRUE(line) << app->output();
        EXPECT_EQ((*line)["trace_id"], sent->trace_id);
        trace_ids[id] = sent->trace_id;
    }
    EXPECT_NE(trace_ids["2"], trace_ids["3"]);
}

TEST_F(tracing_test, UnderMqtt311ThereIsNothingToCarryButLogLinesHaveATrace) {
    auto app = start_app({{"MQTT_PROTOCOL", "3.1.1"}});
    test::test_client client(broker_.port(), "itest-trace-" + std::to_string(getpid()));
    client.subscribe("test/out/trace");
    client.publish("test/trace/4", "x");
    const auto report = client.next(5s);
    ASSERT_TRUE(report) << app->output();
    const auto body = json::parse(report->payload);
    EXPECT_TRUE(is_hex_id(body["trace_id"].get<std::string>(), 32)) << body;
    ASSERT_TRUE(app->wait_for_output("tracing 4", 5s)) << app->output();
    const auto line = log_entry(app->output(), "tracing 4");
    ASSERT_TRUE(line) << app->output();
    EXPECT_EQ((*line)["trace_id"], body["trace_id"]);
    EXPECT_EQ((*line)["span_id"], body["span_id"]);
}
