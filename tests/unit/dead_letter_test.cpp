// The dead-letter store's format (dead_letters/dead_letter.hpp): ids, the kept copy's properties
// and what a replay publishes, the bound, the list's filter and JSON.

#include "dead_letters/dead_letter.hpp"

#include <gtest/gtest.h>

namespace {

using routemq::detail::dead_letter;
using routemq::detail::dead_letter_facts;

routemq::mqtt_settings group(const std::string& name) {
    routemq::mqtt_settings m;
    m.group_name = name;
    return m;
}

routemq::message original() {
    routemq::message m;
    m.topic = "orders/17";
    m.payload = R"({"sku": 4})";
    m.qos = 1;
    m.user_properties = {{"tenant", "acme"}, {"routemq-reason", "a user's own property"}};
    m.response_topic = "routemq/replies/caller-1";
    m.correlation_data = std::string("\x00\x01\xff", 3);
    return m;
}

/// What the store's subscriber receives for a kept copy of `m`, with a traceparent appended as
/// the framework's tracing does.
routemq::message kept_copy(const routemq::message& m, const std::string& id) {
    const auto props =
        routemq::detail::kept_properties(m, m.topic,
                                         dead_letter_facts{.reason = "failed",
                                                           .route = "orders/{id}",
                                                           .error = "the database is down",
                                                           .attempts = 3,
                                                           .process = "w2 (pid 7)"});
    routemq::message stored;
    stored.topic = routemq::detail::dead_letter_store_topic(group("shop"), id);
    stored.payload = m.payload;
    stored.user_properties = props.user_properties;
    stored.user_properties.emplace_back("traceparent",
                                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    EXPECT_TRUE(props.response_topic.empty()) << "nobody may answer the kept copy";
    return stored;
}

TEST(DeadLetter, IdsSortByAgeAndAreCheckedBeforeUse) {
    const auto a = routemq::detail::dead_letter_id(1765140000123, 0x9f86d081a1b2c3d4);
    const auto b = routemq::detail::dead_letter_id(1765140000124, 0x1);
    EXPECT_EQ(a, "1765140000123-9f86d081a1b2c3d4");
    EXPECT_EQ(b, "1765140000124-0000000000000001");
    EXPECT_LT(a, b);
    EXPECT_TRUE(routemq::detail::is_dead_letter_id(a));
    EXPECT_EQ(routemq::detail::dead_letter_time(a), 1765140000123);
    for (const char* bad :
         {"", "1765140000123", "1765140000123-9F86D081A1B2C3D4", "1765140000123-9f86d081a1b2c3d",
          "+", "#", "../x", "1765140000123-9f86d081a1b2c3d4/x", "176514000012x-9f86d081a1b2c3d4"}) {
        EXPECT_FALSE(routemq::detail::is_dead_letter_id(bad)) << bad;
    }
    EXPECT_EQ(routemq::detail::dead_letter_store_filter(group("shop")),
              "routemq/dead-letters/shop/+");
}

TEST(DeadLetter, AKeptCopyReadsBackAndReplaysAsTheOriginal) {
    const auto m = original();
    const auto id = routemq::detail::dead_letter_id(1765140000123, 42);
    const auto d = routemq::detail::read_dead_letter(
        kept_copy(m, id), routemq::detail::dead_letter_store_prefix(group("shop")), true);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->id, id);
    EXPECT_EQ(d->when_ms, 1765140000123);
    EXPECT_EQ(d->topic, "orders/17");
    EXPECT_EQ(d->payload, m.payload);
    EXPECT_EQ(d->size, m.payload.size());
    EXPECT_EQ(d->facts.reason, "failed");
    EXPECT_EQ(d->facts.route, "orders/{id}");
    EXPECT_EQ(d->facts.error, "the database is down");
    EXPECT_EQ(d->facts.attempts, 3);
    EXPECT_EQ(d->facts.process, "w2 (pid 7)");
    const auto replay = routemq::detail::replay_properties(*d);
    EXPECT_EQ(replay.user_properties, m.user_properties) << "its own, not the failed run's trace";
    EXPECT_EQ(replay.response_topic, m.response_topic);
    EXPECT_EQ(replay.correlation_data, m.correlation_data);
}

TEST(DeadLetter, WhatIsNotAKeptDeadLetterIsNotRead) {
    const auto prefix = routemq::detail::dead_letter_store_prefix(group("shop"));
    auto m = kept_copy(original(), routemq::detail::dead_letter_id(1, 1));
    auto empty = m;
    empty.payload.clear();  // a removal
    EXPECT_FALSE(routemq::detail::read_dead_letter(empty, prefix, true));
    EXPECT_FALSE(routemq::detail::read_dead_letter(m, "routemq/dead-letters/other", true));
    auto bad_id = m;
    bad_id.topic = prefix + "/not-an-id";
    EXPECT_FALSE(routemq::detail::read_dead_letter(bad_id, prefix, true));
    auto no_facts = m;
    no_facts.user_properties = {{"tenant", "acme"}};
    EXPECT_FALSE(routemq::detail::read_dead_letter(no_facts, prefix, true));
    // A count past the end takes what is there.
    auto short_list = m;
    short_list.user_properties.resize(short_list.user_properties.size() - 2);
    const auto d = routemq::detail::read_dead_letter(short_list, prefix, false);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->properties.size(), 1U);
    EXPECT_FALSE(d->payload_kept);
    EXPECT_TRUE(d->payload.empty());
}

TEST(DeadLetter, TheBoundRemovesTheOldest) {
    std::map<std::string, dead_letter> kept;
    for (const std::int64_t ms : {30, 10, 20, 40}) {
        const auto id = routemq::detail::dead_letter_id(ms, 1);
        kept[id] = dead_letter{.id = id};
    }
    EXPECT_TRUE(routemq::detail::ids_to_evict(kept, 4).empty());
    EXPECT_EQ(routemq::detail::ids_to_evict(kept, 2),
              (std::vector<std::string>{routemq::detail::dead_letter_id(10, 1),
                                        routemq::detail::dead_letter_id(20, 1)}));
    EXPECT_EQ(routemq::detail::ids_to_evict(kept, 0).size(), 4U);
}

TEST(DeadLetter, TheListFiltersByRouteAndReason) {
    dead_letter d;
    d.facts.route = "orders/{id}";
    d.facts.reason = "poison";
    EXPECT_TRUE((routemq::detail::dead_letter_filter{}).matches(d));
    EXPECT_TRUE((routemq::detail::dead_letter_filter{.route = "orders/{id}"}).matches(d));
    EXPECT_FALSE((routemq::detail::dead_letter_filter{.route = "orders/+"}).matches(d));
    EXPECT_TRUE((routemq::detail::dead_letter_filter{.route = "", .reason = "poison"}).matches(d));
    EXPECT_FALSE((routemq::detail::dead_letter_filter{.route = "", .reason = "failed"}).matches(d));
}

TEST(DeadLetter, JsonShowsTextAsTextAndBytesAsBase64) {
    dead_letter d;
    d.id = routemq::detail::dead_letter_id(5, 5);
    d.payload = "plain text";
    d.payload_kept = true;
    d.correlation_data = std::string("\x01\xab", 2);
    auto j = routemq::detail::to_json(d, true);
    EXPECT_EQ(j["payload"], "plain text");
    EXPECT_FALSE(j.contains("payload_base64"));
    EXPECT_EQ(j["correlation_data_hex"], "01ab");
    d.payload = std::string("\xff\x00\x01", 3);
    j = routemq::detail::to_json(d, true);
    EXPECT_TRUE(j["payload"].is_null());
    EXPECT_EQ(j["payload_base64"], "/wAB");
    const auto summary = routemq::detail::to_json(d, false);
    EXPECT_FALSE(summary.contains("payload"));
    EXPECT_EQ(summary["id"], d.id);
}

}  // namespace

namespace {

TEST(DeadLetter, OnlyTopicsOfTheApplicationsRoutesAreReplayedTo) {
    routemq::router r;
    r.on("orders/{id}", [](routemq::context&) {});
    dead_letter d;
    d.facts.route = "orders/{id}";
    d.topic = "orders/17";
    EXPECT_EQ(routemq::detail::replay_problem(r, d), "");
    // Put in the store by someone who may publish there, aimed at another application's topic.
    d.topic = "doors/front/open";
    EXPECT_NE(routemq::detail::replay_problem(r, d).find("no route of this application handles"),
              std::string::npos);
    EXPECT_EQ(routemq::detail::replay_problem(routemq::router{}, d), "")
        << "the installed tool has no routes to check against";
}

}  // namespace
