// What leaves a worker: the checks every outgoing publish passes, the Response Topic policy, and
// what the dispatcher does when the broker refuses a result, a reply or a dead letter.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <routemq/testing/harness.hpp>
#include <string>

#include "delivery/dispatcher.hpp"
#include "delivery/publish_check.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_dispatcher.hpp"

using routemq::detail::check_publish;
using routemq::detail::publish_properties;
using routemq::detail::topic_name_problem;

namespace {

routemq::message request(std::string topic, std::string response_topic) {
    routemq::message m;
    m.topic = std::move(topic);
    m.response_topic = std::move(response_topic);
    m.correlation_data = "c1";
    return m;
}

std::string thrown_by(const std::function<void()>& f) {
    try {
        f();
    } catch (const routemq::publish_error& e) {
        return e.what();
    }
    return "nothing thrown";
}

}  // namespace

TEST(TopicName, AcceptsWhatMqttAllows) {
    for (const std::string& topic :
         std::vector<std::string>{"a", "a/b/c", "/", "a//b", "capteurs/\xc3\xa9t\xc3\xa9", "$SYS/x",
                                  std::string(65535, 'x')}) {
        EXPECT_EQ(topic_name_problem(topic), "") << topic.substr(0, 40);
    }
}

TEST(TopicName, RefusesWhatABrokerRefusesWithTheReason) {
    EXPECT_EQ(topic_name_problem(""), "a topic name is never empty");
    EXPECT_EQ(topic_name_problem("fleet/+/aggregate"),
              "a topic name holds no wildcard, and this one has '+' at byte 6");
    EXPECT_EQ(topic_name_problem("a/#"),
              "a topic name holds no wildcard, and this one has '#' at byte 2");
    EXPECT_EQ(topic_name_problem(std::string(65536, 'x')),
              "the topic is 65536 bytes, more than MQTT's 65535");
    EXPECT_EQ(topic_name_problem(std::string("a\0b", 3)), "the topic holds a NUL byte (at byte 1)");
    EXPECT_EQ(topic_name_problem("a\xff"), "the topic is not valid UTF-8 (at byte 1)");
    EXPECT_EQ(topic_name_problem("\xc0\xaf"),
              "the topic is not valid UTF-8 (at byte 0)");  // overlong
    EXPECT_EQ(topic_name_problem("\xed\xa0\x80"),
              "the topic is not valid UTF-8 (at byte 0)");  // surrogate
    EXPECT_EQ(topic_name_problem("a\nb"),
              "the topic holds the control character or non-character U+000A (at byte 1)");
    EXPECT_EQ(topic_name_problem("x\xef\xbf\xbf"),
              "the topic holds the control character or non-character U+FFFF (at byte 1)");
}

TEST(CheckPublish, NamesTheTopicAndTheReason) {
    EXPECT_EQ(thrown_by([] { check_publish("fleet/+/aggregate", 3, 1, {}, {}); }),
              "cannot publish to 'fleet/+/aggregate': a topic name holds no wildcard, and this one "
              "has '+' at byte 6");
    EXPECT_EQ(thrown_by([] { check_publish("t", 0, 3, {}, {}); }),
              "cannot publish to 't': QoS 3 is not 0, 1 or 2");
    const auto long_topic = std::string(70000, 'y');
    EXPECT_EQ(thrown_by([&] { check_publish(long_topic, 0, 0, {}, {}); }),
              "cannot publish to '" + std::string(200, 'y') +
                  "... (70000 bytes)': the topic is 70000 bytes, more than MQTT's 65535");
    publish_properties p;
    p.user_properties = {{"why", "line 1\nline 2"}};
    EXPECT_EQ(thrown_by([&] { check_publish("t", 0, 1, p, {}); }),
              "cannot publish to 't': the value of user property 'why' is not an MQTT string: it "
              "holds the control character or non-character U+000A (at byte 6)");
    p = {};
    p.response_topic = "r/#";
    EXPECT_NE(thrown_by([&] { check_publish("t", 0, 1, p, {}); }).find("Response Topic"),
              std::string::npos);
    // Under MQTT 3.1.1 properties are not sent, so they are not checked.
    EXPECT_NO_THROW(check_publish("t", 0, 1, p, {.v5 = false}));
}

TEST(CheckPublish, KnowsThePacketSizeTheBrokerSees) {
    // Fixed header 2, topic length 2 + 1, packet id 2, properties length 1, payload 10.
    EXPECT_EQ(routemq::detail::publish_packet_size("t", 10, 1, {}, true), 18u);
    EXPECT_EQ(routemq::detail::publish_packet_size("t", 10, 0, {}, false), 15u);
    publish_properties p;
    p.user_properties = {{"k", "vv"}};  // 1 + 2 + 1 + 2 + 2
    p.correlation_data = "cd";          // 1 + 2 + 2
    EXPECT_EQ(routemq::detail::publish_packet_size("t", 10, 1, p, true), 31u);
    // A remaining length of 128 takes two bytes.
    EXPECT_EQ(routemq::detail::publish_packet_size("t", 125, 0, {}, false), 1u + 2 + 128);
    EXPECT_NO_THROW(check_publish("t", 10, 1, p, {.v5 = true, .max_packet = 31}));
    EXPECT_EQ(thrown_by([&] { check_publish("t", 10, 1, p, {.v5 = true, .max_packet = 30}); }),
              "cannot publish to 't': the message is 31 bytes with its 10-byte payload, more than "
              "the broker's Maximum Packet Size of 30");
}

TEST(ToMqttString, EscapesRepairsAndCutsAtACharacter) {
    using routemq::detail::to_mqtt_string;
    EXPECT_EQ(to_mqtt_string("plain", 100), "plain");
    EXPECT_EQ(to_mqtt_string("a\nb\tc", 100), "a\\x0ab\\x09c");
    EXPECT_EQ(to_mqtt_string("bad \xff byte", 100), "bad \xef\xbf\xbd byte");
    EXPECT_EQ(to_mqtt_string("\xc3\xa9\xc3\xa9\xc3\xa9", 6), "\xc3\xa9\xc3\xa9\xc3\xa9");
    EXPECT_EQ(to_mqtt_string("\xc3\xa9\xc3\xa9\xc3\xa9x", 6), "\xc3\xa9...");
    for (const std::string& text :
         std::vector<std::string>{std::string("x\n\xff\xc3\xa9", 5), std::string(5000, '\n')}) {
        const auto s = to_mqtt_string(text, 1000);
        EXPECT_LE(s.size(), 1000u);
        EXPECT_EQ(routemq::detail::utf8_string_problem(s), "");
    }
}

TEST(DeadLetterTopic, FallsBackToADigestWhenTheTopicWouldBeTooLong) {
    std::string why;
    EXPECT_EQ(routemq::detail::dead_letter_topic("dl/{topic}", "a/b", &why), "dl/a/b");
    EXPECT_EQ(why, "");
    const std::string topic(65535, 't');
    const auto to = routemq::detail::dead_letter_topic("dead-letter/{topic}", topic, &why);
    EXPECT_EQ(to.rfind("dead-letter/routemq-digest/", 0), 0u) << to;
    EXPECT_EQ(to.size(), std::string("dead-letter/routemq-digest/").size() + 16);
    EXPECT_EQ(why, "the topic is 65547 bytes, more than MQTT's 65535");
    EXPECT_EQ(routemq::detail::dead_letter_topic("dead-letter/{topic}", topic), to)
        << "the same topic always goes to the same place";
}

TEST(ReplyPolicy, RepliesGoOnlyUnderTheAllowedPrefixesAndNeverIntoTheApplication) {
    routemq::router r;
    r.on("devices/{id}/command", [](routemq::context&) {});
    r.on("routemq/replies/audit/#", [](routemq::context&) {});
    auto handling = test::quick_handling();
    const routemq::detail::reply_policy policy(r, handling);
    EXPECT_EQ(policy.problem("routemq/replies/c1-42"), "");
    EXPECT_EQ(policy.problem("devices/43/command"),
              "it is not under REPLY_TOPIC_PREFIXES (routemq/replies/)");
    EXPECT_EQ(policy.problem("routemq/replies/+"),
              "a topic name holds no wildcard, and this one has '+' at byte 16");
    EXPECT_EQ(policy.problem("routemq/replies/"),
              "it is not under REPLY_TOPIC_PREFIXES (routemq/replies/)");
    EXPECT_EQ(policy.problem("routemq/replies/" + std::string(600, 'x')),
              "it is 616 bytes, more than REPLY_TOPIC_MAX_BYTES (512)");
    EXPECT_EQ(policy.problem("routemq/replies/audit/1"),
              "route 'routemq/replies/audit/#' of this application handles it (route option "
              "accept_replies allows it)");

    handling.reply_topic_prefixes = {"devices/", "routemq/replies/"};
    routemq::router opted;
    opted.on("devices/{id}/command", [](routemq::context&) {}, {.accept_replies = true});
    EXPECT_EQ(routemq::detail::reply_policy(opted, handling).problem("devices/43/command"), "");
}

TEST(ReplyPolicy, ARequestOutsideThePolicyIsHandledWithoutAReply) {
    routemq::router r;
    int commands = 0;
    int runs = 0;
    r.on("devices/{id}/command", [&commands](routemq::context&) { ++commands; });
    r.on("jobs/{id}", [&runs](routemq::context& ctx) {
        ++runs;
        EXPECT_FALSE(ctx.is_request());
        EXPECT_FALSE(ctx.reply("done"));
    });
    test::test_dispatcher d(r);
    test::recording_publisher out;
    for (const std::string& to :
         std::vector<std::string>{"devices/43/command", "r/#", "routemq/replies/+", ""}) {
        d.dispatch(request("jobs/1", to), out);
    }
    EXPECT_EQ(runs, 4);
    EXPECT_EQ(commands, 0);
    EXPECT_TRUE(out.messages.empty()) << out.messages.front().topic;
    EXPECT_EQ(d.counts().replies_refused_total, 3u);
    EXPECT_EQ(d.counts().handled, 4u);
}

TEST(Refusals, ARefusedResultFailsTheMessageAndEndsAsADeadLetter) {
    routemq::router r;
    r.on("in/{id}", [](routemq::context& ctx) {
        ctx.publish("results/" + std::string(ctx.param("id")), "r", 1);
    });
    test::test_dispatcher d(r);
    test::recording_publisher out;
    out.refusing = {"results/1"};
    routemq::message m;
    m.topic = "in/1";
    d.dispatch(m, out);
    EXPECT_EQ(d.counts().handled, 0u);
    EXPECT_EQ(d.counts().handler_error, 3u) << "each attempt's result refused";
    EXPECT_EQ(d.counts().publishes_refused_total, 3u);
    EXPECT_EQ(d.counts().dead_letters.at("failed"), 1);
    const auto& dead = out.messages.back();
    EXPECT_EQ(dead.topic, "dead-letter/in/1");
    EXPECT_EQ(dead.property("routemq-error"),
              "the broker refused its result on 'results/1': Not authorized (0x87)");
}

TEST(Refusals, ARefusedReplyIsCountedButTheWorkStandsDone) {
    routemq::router r;
    r.on("jobs/{id}", [](routemq::context& ctx) { ctx.reply("ok"); });
    test::test_dispatcher d(r);
    test::recording_publisher out;
    out.refusing = {"routemq/replies/x"};
    d.dispatch(request("jobs/1", "routemq/replies/x"), out);
    EXPECT_EQ(d.counts().handled, 1u);
    EXPECT_EQ(d.counts().publishes_refused_total, 2u);  // accepted and done
    EXPECT_TRUE(d.counts().dead_letters.empty());
}

TEST(Refusals, ARefusedDeadLetterIsDroppedNotRedeliveredForever) {
    routemq::router r;
    r.on("in/{id}", [](routemq::context&) { throw std::runtime_error("no"); },
         {.retry = routemq::retry_policy{.attempts = 1}});
    test::test_dispatcher d(r);
    test::recording_publisher out;
    out.refusing = {"dead-letter/in/1"};
    routemq::message m;
    m.topic = "in/1";
    d.dispatch(m, out);  // returns: the message is acknowledged, not the process ended
    EXPECT_TRUE(d.counts().dead_letters.empty());
    EXPECT_EQ(d.counts().publishes_refused_total, 1u);
}

TEST(Refusals, AnErrorTextADeadLetterCannotCarryIsMadeOneItCan) {
    routemq::router r;
    r.on("in/{id}",
         [](routemq::context&) {
             throw std::runtime_error("line 1\nline 2 \xff " + std::string(5000, 'x'));
         },
         {.retry = routemq::retry_policy{.attempts = 1}});
    test::test_dispatcher d(r);
    test::recording_publisher out;
    routemq::message m;
    m.topic = "in/1";
    d.dispatch(m, out);
    ASSERT_EQ(out.messages.size(), 1u);
    const auto error = out.messages[0].property("routemq-error");
    EXPECT_EQ(error.rfind("line 1\\x0aline 2 \xef\xbf\xbd xxx", 0), 0u) << error.substr(0, 40);
    EXPECT_LE(error.size(), 1000u);
    EXPECT_NO_THROW(check_publish(out.messages[0].topic, 0, 1,
                                  {.user_properties = out.messages[0].properties,
                                   .response_topic = {},
                                   .correlation_data = {}},
                                  {}));
}

TEST(Refusals, AHandlerWhosePublishCannotLeaveIsNotRetried) {
    int runs = 0;
    routemq::testing::harness h([&runs](routemq::router& r) {
        r.on("fleet/{id}/reading", [&runs](routemq::context& ctx) {
            ++runs;
            ctx.publish("fleet/+/aggregate", "x", 1);
        });
    });
    const auto result = h.deliver({.topic = "fleet/1/reading", .payload = "r"});
    EXPECT_EQ(runs, 1) << "the same publish would fail again";
    ASSERT_EQ(result.dead_letters.size(), 1u);
    EXPECT_EQ(result.dead_letters[0].attempts, 1);
    EXPECT_EQ(result.dead_letters[0].error,
              "cannot publish to 'fleet/+/aggregate': a topic name holds no wildcard, and this one "
              "has '+' at byte 6");
}
