#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/pattern.hpp>
#include <string>

using routemq::pattern;
using routemq::pattern_error;

TEST(Pattern, CompilesParamsToSingleLevelWildcards) {
    pattern p("sensors/{device_id}/data");
    EXPECT_EQ(p.filter(), "sensors/+/data");
    EXPECT_EQ(p.param_names(), std::vector<std::string>{"device_id"});
}

TEST(Pattern, KeepsPlusAndHash) {
    EXPECT_EQ(pattern("a/+/{x}/#").filter(), "a/+/+/#");
    EXPECT_EQ(pattern("#").filter(), "#");
    EXPECT_EQ(pattern("plain/topic").filter(), "plain/topic");
}

TEST(Pattern, MatchesAndCapturesByName) {
    pattern p("buildings/{building}/floors/{floor}/temp");
    routemq::params out;
    ASSERT_TRUE(p.match("buildings/b7/floors/3/temp", out));
    EXPECT_EQ(out.size(), 2u);
    EXPECT_EQ(out.at("building"), "b7");
    EXPECT_EQ(out.at("floor"), "3");
    EXPECT_THROW((void)out.at("room"), routemq::error);
    EXPECT_EQ(out.get("room"), "");
}

TEST(Pattern, RejectsWrongShapes) {
    pattern p("sensors/{id}/data");
    EXPECT_FALSE(p.matches("sensors/1/data/extra"));
    EXPECT_FALSE(p.matches("sensors/1"));
    EXPECT_FALSE(p.matches("sensor/1/data"));
    EXPECT_TRUE(p.matches("sensors//data"));  // an empty level is still a level in MQTT
}

TEST(Pattern, FailedMatchLeavesParamsUntouched) {
    pattern p("a/{x}/b");
    const pattern first("{kept}");  // params are views into the pattern: it outlives them
    routemq::params out;
    ASSERT_TRUE(first.match("1", out));
    EXPECT_FALSE(p.match("a/2/c", out));
    EXPECT_EQ(out.size(), 1u);
    EXPECT_EQ(out.at("kept"), "1");
}

TEST(Pattern, HashMatchesRestAndParent) {
    pattern p("logs/{app}/#");
    routemq::params out;
    EXPECT_TRUE(p.match("logs/api/error/db", out));
    EXPECT_EQ(out.at("app"), "api");
    EXPECT_TRUE(pattern("logs/#").matches("logs"));
    EXPECT_FALSE(pattern("logs/#").matches("log"));
}

TEST(Pattern, WildcardsDoNotMatchDollarTopics) {
    EXPECT_FALSE(pattern("#").matches("$SYS/broker/uptime"));
    EXPECT_FALSE(pattern("+/broker/uptime").matches("$SYS/broker/uptime"));
    EXPECT_FALSE(pattern("{x}/broker/uptime").matches("$SYS/broker/uptime"));
}

TEST(Pattern, RejectsInvalidPatternsNamingThem) {
    const char* bad[] = {"",     "a/#/b", "a/v{n}",  "a/{}",         "a/{x}/{x}", "$SYS/#",
                         "a/b+", "a/#b",  "a/{x-}y", "a/{bad name}", "a/{x"};
    for (const char* text : bad) {
        try {
            pattern p(text);
            ADD_FAILURE() << "accepted '" << text << "'";
        } catch (const pattern_error& e) {
            EXPECT_NE(std::string(e.what()).find(std::string("'") + text + "'"), std::string::npos)
                << e.what();
        }
    }
}

TEST(Pattern, ShowsANulAsBackslashZeroSoTheMessageKeepsItsReason) {
    try {
        pattern p(std::string("a/b\0c/d", 7));
        ADD_FAILURE() << "accepted a NUL";
    } catch (const pattern_error& e) {
        EXPECT_STREQ(e.what(), "invalid route pattern 'a/b\\0c/d': it contains a NUL character");
    }
}

TEST(Filters, MatchLikeMqtt) {
    EXPECT_TRUE(routemq::filter_matches("a/+/c", "a/b/c"));
    EXPECT_TRUE(routemq::filter_matches("a/#", "a"));
    EXPECT_TRUE(routemq::filter_matches("#", "x/y"));
    EXPECT_FALSE(routemq::filter_matches("#", "$SYS/x"));
    EXPECT_FALSE(routemq::filter_matches("a/+", "a/b/c"));
    EXPECT_FALSE(routemq::filter_matches("a/b", "a"));
}

TEST(Filters, Overlap) {
    EXPECT_TRUE(routemq::filters_overlap("ov/+/x", "ov/#"));
    EXPECT_TRUE(routemq::filters_overlap("a/+/c", "a/b/+"));
    EXPECT_TRUE(routemq::filters_overlap("a/#", "a"));
    EXPECT_TRUE(routemq::filters_overlap("a/b", "a/b"));
    EXPECT_FALSE(routemq::filters_overlap("a/+/c", "a/b/d"));
    EXPECT_FALSE(routemq::filters_overlap("a/+", "a/b/c"));
    EXPECT_FALSE(routemq::filters_overlap("a", "a/b"));
    EXPECT_FALSE(routemq::filters_overlap("#", "$SYS/x"));
}
