#include "mqtt/connect_error.hpp"

#include <gtest/gtest.h>

#include <string>

using routemq::detail::describe_connect_failure;

TEST(ConnectError, Mqtt5RefusalsInWordsWithAHint) {
    const auto bad_auth = describe_connect_failure(true, -1, 135, "CONNACK return code", false, "");
    EXPECT_NE(bad_auth.find("not authorized (CONNACK 135)"), std::string::npos) << bad_auth;
    EXPECT_NE(bad_auth.find("bad user name or password"), std::string::npos) << bad_auth;
    EXPECT_NE(bad_auth.find("MQTT_PASSWORD"), std::string::npos) << bad_auth;
    const auto creds = describe_connect_failure(true, 134, 134, nullptr, false, "");
    EXPECT_NE(creds.find("bad user name or password (CONNACK 134)"), std::string::npos) << creds;
    const auto version = describe_connect_failure(true, 132, 132, nullptr, false, "");
    EXPECT_NE(version.find("MQTT_PROTOCOL=3.1.1"), std::string::npos) << version;
    const auto other = describe_connect_failure(true, 149, 149, nullptr, false, "");
    EXPECT_NE(other.find("(CONNACK 149)"), std::string::npos) << other;
}

TEST(ConnectError, Mqtt311ReturnCodes) {
    EXPECT_NE(describe_connect_failure(false, 5, 0, "CONNACK return code", false, "")
                  .find("not authorized (CONNACK 5): bad user name or password"),
              std::string::npos);
    EXPECT_NE(
        describe_connect_failure(false, 4, 0, nullptr, false, "").find("bad user name or password"),
        std::string::npos);
    EXPECT_NE(describe_connect_failure(false, 2, 0, nullptr, false, "").find("MQTT_CLIENT_ID"),
              std::string::npos);
    EXPECT_NE(describe_connect_failure(false, 1, 0, nullptr, false, "").find("protocol version"),
              std::string::npos);
}

TEST(ConnectError, TlsAndNetworkFailures) {
    const auto tls = describe_connect_failure(true, -1, 0, "TCP/TLS connect failure", true,
                                              "SSL routines: certificate verify failed");
    EXPECT_EQ(tls, "TLS failed: SSL routines: certificate verify failed");
    const auto refused =
        describe_connect_failure(true, -1, 0, "TCP/TLS connect failure", false, "");
    EXPECT_NE(refused.find("MQTT_BROKER and MQTT_PORT"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("TLS"), std::string::npos) << refused;
    const auto tls_refused =
        describe_connect_failure(true, -1, 0, "TCP/TLS connect failure", true, "");
    EXPECT_NE(tls_refused.find("certificate names MQTT_BROKER"), std::string::npos) << tls_refused;
    EXPECT_EQ(routemq::detail::tls_reason(
                  "40E7C1F4FE7E0000:error:0A000086:SSL routines:tls_post_process_server_"
                  "certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:\n"),
              "SSL routines: certificate verify failed");
    EXPECT_EQ(routemq::detail::tls_reason("plain text\n"), "plain text");
}

TEST(ConnectError, RetryWaitsStartSmallDoubleAndStopAtTheMost) {
    using ms = std::chrono::milliseconds;
    const ms first{100};
    const ms most{30000};
    const ms long_down{60000};
    EXPECT_EQ(routemq::detail::reconnect_wait(0, first, most, long_down), ms(100));
    EXPECT_EQ(routemq::detail::reconnect_wait(1, first, most, long_down), ms(100));
    EXPECT_EQ(routemq::detail::reconnect_wait(2, first, most, long_down), ms(200));
    EXPECT_EQ(routemq::detail::reconnect_wait(5, first, most, long_down), ms(1600));
    EXPECT_EQ(routemq::detail::reconnect_wait(20, first, most, long_down), most);
    EXPECT_EQ(routemq::detail::reconnect_wait(4000000000u, first, most, long_down), most);
    EXPECT_EQ(routemq::detail::reconnect_wait(3, first, ms(250), long_down), ms(250));
}

TEST(ConnectError, RetriesStayPromptForTheFirstHalfMinuteOfAnOutage) {
    using ms = std::chrono::milliseconds;
    // A broker restart: back within seconds, and seen within 200 ms of its return.
    EXPECT_EQ(routemq::detail::reconnect_wait(1, ms(100), ms(2000), ms(0)), ms(100));
    EXPECT_EQ(routemq::detail::reconnect_wait(6, ms(100), ms(2000), ms(3000)), ms(200));
    EXPECT_EQ(routemq::detail::reconnect_wait(60, ms(100), ms(2000), ms(29999)), ms(200));
    // A broker gone for longer: the usual backoff, not hammered.
    EXPECT_EQ(routemq::detail::reconnect_wait(61, ms(100), ms(2000), ms(30000)), ms(2000));
}
