// No handler mistake and no client input keeps a worker from serving (docs/failures.md,
// docs/requests.md): each case sends the offending message to the hostile app's only worker,
// then checks that the worker answers on another route within a second and that the message
// ended where it should (a dead letter, or a request handled without a reply).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

/// A broker that refuses every publish to denied/# (PUBACK 0x87 under MQTT 5), every packet over
/// 90,000 bytes and every retained message (closing the connection over it).
class hostile_test : public ::testing::Test {
protected:
    hostile_test() : broker_(broker_config()) {}

    static std::string broker_config() {
        const auto acl = test::temp_path("dynsec.json");
        std::ofstream(acl) << R"({
            "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true,
                                 "subscribe": true, "unsubscribe": true},
            "clients": [],
            "groups": [{"groupname": "anonymous", "roles": [{"rolename": "no-denied"}]}],
            "roles": [{"rolename": "no-denied",
                       "acls": [{"acltype": "publishClientSend", "topic": "denied/#",
                                 "allow": false}]}],
            "anonymousGroup": "anonymous"
        })";
        return std::string("plugin ") + MOSQUITTO_DYNSEC_PLUGIN + "\nplugin_opt_config_file " +
               acl + "\nmax_packet_size 90000\nretain_available false\nmax_qos 1\n";
    }

    void SetUp() override {
        http_port_ = routemq::testing::free_loopback_port();
        app_ = test::start_app(ROUTEMQ_HOSTILE_APP, broker_.port(), {"--workers"},
                               {{"HTTP_PORT", std::to_string(http_port_)}});
        ASSERT_TRUE(app_->wait_for_output("subscribed to 'h/hang/+'", 20s)) << app_->output();
        user_ = std::make_unique<test::test_client>(broker_.port(), "hostile-user", true, true);
        user_->subscribe("h-out/#");
        user_->subscribe("dead-letter/#");
        user_->subscribe("routemq/replies/#");
        user_->subscribe("denied/#");
        user_->subscribe("fleet/#");
    }

    /// The worker still serves: a ping on another route is answered within a second.
    void expect_serving(const std::string& after) {
        const auto id = std::to_string(++pings_);
        user_->publish("h/ping/" + id, "", 1);
        const auto deadline = std::chrono::steady_clock::now() + 1s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (const auto m = user_->next(50ms); m && m->topic == "h-out/pong/" + id) {
                return;
            } else if (m) {
                seen_.push_back(*m);
            }
        }
        ADD_FAILURE() << "the worker did not answer a ping within 1 s after " << after << "\n"
                      << app_->output();
    }

    /// Every message received so far and until none came for `quiet`.
    std::vector<test::received> received(std::chrono::milliseconds quiet = 500ms) {
        for (auto& m : user_->drain(quiet)) {
            seen_.push_back(std::move(m));
        }
        return seen_;
    }

    std::optional<test::received> first_on(const std::string& prefix) {
        for (const auto& m : received()) {
            if (m.topic.rfind(prefix, 0) == 0) {
                return m;
            }
        }
        return std::nullopt;
    }

    test::mosquitto_broker broker_;
    int http_port_ = 0;
    std::unique_ptr<test::child_process> app_;
    std::unique_ptr<test::test_client> user_;
    std::vector<test::received> seen_;
    int pings_ = 0;
};

}  // namespace

TEST_F(hostile_test, AWildcardPublishFailsTheHandlerInsteadOfTheConnection) {
    user_->publish("h/wild/1", "x", 1);
    expect_serving("a handler's publish to fleet/+/aggregate");
    const auto dead = first_on("dead-letter/h/wild/1");
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->property("routemq-error"),
              "cannot publish to 'fleet/+/aggregate': a topic name holds no wildcard, and this one "
              "has '+' at byte 6");
    EXPECT_FALSE(first_on("fleet/"));
    EXPECT_EQ(app_->output().find("reconnect"), std::string::npos) << app_->output();
}

TEST_F(hostile_test, ForeignResponseTopicsGetNoReplyAndNeverReachAnotherRoute) {
    const std::string too_long = "routemq/replies/" + std::string(600, 'x');
    for (const auto& to : {std::string("h/cmd/43"), std::string("r/#"),
                           std::string("routemq/replies/+"), too_long}) {
        user_->publish_request("h/req/1", "hi", to, "c");
    }
    user_->publish_request("h/req/2", "hi", "routemq/replies/ok", "c2");
    expect_serving("requests with foreign Response Topics");
    const auto all = received();
    std::vector<std::string> replies;
    for (const auto& m : all) {
        if (!m.property("routemq-status").empty()) {
            replies.push_back(m.topic + " " + m.property("routemq-status") + " " + m.payload);
        }
    }
    EXPECT_EQ(replies, (std::vector<std::string>{"routemq/replies/ok accepted ",
                                                 "routemq/replies/ok done answer 2"}));
    EXPECT_FALSE(first_on("h-out/cmd-ran")) << "the deputy route ran";
    const auto out = app_->output();
    EXPECT_NE(out.find("names Response Topic 'h/cmd/43': it is not under REPLY_TOPIC_PREFIXES "
                       "(routemq/replies/); handling it without a reply"),
              std::string::npos)
        << out;
    const auto metrics = test::http_get(http_port_, "/metrics").body;
    EXPECT_NE(metrics.find("routemq_replies_refused_total{route=\"h/req/{id}\"} 4"),
              std::string::npos)
        << metrics;
}

TEST_F(hostile_test, AMessageOnAMaximalTopicIsDeadLetteredUnderADigest) {
    const std::string topic = "h/fail/" + std::string(65535 - 7, 'f');
    user_->publish(topic, "payload", 1);
    expect_serving("a failing message on a 65,535-byte topic");
    const auto dead = first_on("dead-letter/routemq-digest/");
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->property("routemq-topic"), topic);
    EXPECT_EQ(dead->payload, "payload");
}

TEST_F(hostile_test, AResultTheBrokerRefusesFailsItsMessage) {
    user_->publish("h/acl/1", "x", 1);
    expect_serving("a result the broker's ACL refuses");
    const auto dead = first_on("dead-letter/h/acl/1");
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->property("routemq-error"),
              "the broker refused its result on 'denied/result': Not authorized (0x87)");
    EXPECT_FALSE(first_on("denied/"));
    const auto metrics = test::http_get(http_port_, "/metrics").body;
    EXPECT_NE(metrics.find("routemq_publishes_refused_total{route=\"h/acl/{id}\"} 1"),
              std::string::npos)
        << metrics;
}

TEST_F(hostile_test, AResultTheBrokerClosesTheConnectionOverIsRefusedNotResentForever) {
    user_->publish("h/qos2/1", "x", 1);
    std::optional<test::received> dead;
    for (int i = 0; i < 20 && !dead; ++i) {
        dead = first_on("dead-letter/h/qos2/1");
    }
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->property("routemq-error"),
              "the broker refused its result on 'h-out/qos2': the broker closed the "
              "connection each of the 3 times it was sent");
    expect_serving("a QoS 2 result on a broker with max_qos 1");
}

TEST_F(hostile_test, ARetainedResultOnABrokerWithoutRetainedMessagesIsRefusedBeforeItIsSent) {
    user_->publish("h/retain/1", "x", 1);
    const auto dead = first_on("dead-letter/h/retain/1");
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->property("routemq-error"),
              "cannot publish to 'h-out/retained' retained: the broker keeps no retained "
              "messages (its CONNACK says Retain Available 0)");
    EXPECT_EQ(app_->output().find("down with"), std::string::npos)
        << "no connection was lost over it\n"
        << app_->output();
    expect_serving("a retained result on a broker without retained messages");
}

TEST_F(hostile_test, ResultsAndDeadLettersOverTheBrokersPacketSizeNeverLeave) {
    user_->publish("h/big/1", "x", 1);
    // A legal message whose dead letter, with the topic again in a property, is not.
    const std::string topic = "h/fail/" + std::string(30000, 't');
    user_->publish(topic, std::string(55000, 'p'), 1);
    expect_serving("a result and a dead letter larger than max_packet_size 90000");
    const auto big = first_on("dead-letter/h/big/1");
    ASSERT_TRUE(big) << app_->output();
    const auto error = big->property("routemq-error");
    EXPECT_EQ(error.rfind("cannot publish to 'h-out/big': the message is 950", 0), 0u) << error;
    EXPECT_NE(error.find("bytes with its 95000-byte payload, more than the broker's Maximum "
                         "Packet Size of 90000"),
              std::string::npos)
        << error;
    const auto dead = first_on("dead-letter/h/fail/");
    ASSERT_TRUE(dead) << app_->output();
    EXPECT_EQ(dead->payload.size(), 55000u);
    EXPECT_EQ(dead->property("routemq-topic"), topic.substr(0, 197) + "...");
}

TEST_F(hostile_test, AHungWorkerEndsWithinItsHandlerTimeoutWhenItsManagerIsKilled) {
    user_->publish("h/hang/1", "x", 1);
    ASSERT_TRUE(app_->wait_for_output("h/hang/1", 5s)) << app_->output();
    std::this_thread::sleep_for(200ms);
    const int worker = test::worker_pid(app_->output(), 1);
    ASSERT_GT(worker, 0) << app_->output();
    app_->signal(SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    while (test::process_alive(worker) && std::chrono::steady_clock::now() - killed < 10s) {
        std::this_thread::sleep_for(50ms);
    }
    const auto took = std::chrono::steady_clock::now() - killed;
    EXPECT_FALSE(test::process_alive(worker)) << "an orphan worker still runs";
    EXPECT_LT(took, 2500ms) << "the handler's timeout is 2 s";
}

TEST(BrokerDrops, WhatTheBrokerDropsShowsInMetrics) {
    // A session that is gone with room for one message: mosquitto drops the rest of what is
    // published to it, and says so on $SYS every second.
    test::mosquitto_broker broker(std::string("max_queued_messages 1\nsys_interval 1\n"));
    const auto session = test::temp_path("drops-session");
    test::child_process keep({"/usr/bin/mosquitto_sub", "-p", std::to_string(broker.port()), "-i",
                              "drops-kept", "-c", "-q", "1", "-t", "drops/#", "-E"},
                             {}, session);
    ASSERT_EQ(keep.wait(10s).value_or(-1), 0) << keep.output();
    test::test_client pub(broker.port(), "drops-pub", /*receive=*/false);
    // More than the queue and the in-flight window together (mosquitto: 20) can hold.
    constexpr int kSent = 60;
    for (int i = 0; i < kSent; ++i) {
        pub.publish("drops/x", std::to_string(i), 1);
    }
    const int http = routemq::testing::free_loopback_port();
    auto app = test::start_app(ROUTEMQ_HOSTILE_APP, broker.port(), {"--workers"},
                               {{"HTTP_PORT", std::to_string(http)}});
    const auto dropped = [](const test::http_response& r) {
        constexpr std::string_view kSample = "\nroutemq_broker_dropped_messages ";
        const auto at = r.body.find(kSample);
        return at == std::string::npos ? -1 : std::atoi(r.body.c_str() + at + kSample.size());
    };
    const auto metrics = test::http_poll(
        http, "/metrics", [&](const test::http_response& r) { return dropped(r) > 0; }, 15s);
    EXPECT_GT(dropped(metrics), 0) << metrics.body << app->output();
    EXPECT_LT(dropped(metrics), kSent) << "at least one was kept";
    std::cout << "[ measured ] the broker dropped " << dropped(metrics) << " of " << kSent << "\n";
}
