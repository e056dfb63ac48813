#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <routemq/errors.hpp>
#include <routemq/settings.hpp>
#include <string>

#include "settings_table.hpp"

using routemq::env_map;
using routemq::load_settings;

namespace {

/// The one-line error for `name=value`, or "" when it is accepted.
std::string rejection(const std::string& name, const std::string& value) {
    try {
        load_settings({}, {{name, value}});
        return "";
    } catch (const routemq::config_error& e) {
        return e.what();
    }
}

}  // namespace

TEST(Settings, DefaultsComeFromTheTable) {
    const auto s = load_settings({}, {});
    EXPECT_EQ(s.mqtt.broker, "localhost");
    EXPECT_EQ(s.mqtt.port, 1883);
    EXPECT_EQ(s.mqtt.client_id, "routemq");
    EXPECT_EQ(s.mqtt.group_name, "routemq");
    EXPECT_EQ(s.mqtt.protocol, routemq::mqtt_protocol::v5);
    EXPECT_EQ(s.mqtt.keepalive, std::chrono::seconds(60));
    EXPECT_FALSE(s.tls.enabled);
    EXPECT_TRUE(s.tls.verify);
    EXPECT_EQ(s.logging.level, "info");
    EXPECT_EQ(s.logging.format, "text");
    EXPECT_EQ(s.workers.count, 0);
}

TEST(Settings, ParsesEveryKind) {
    const auto s = load_settings({}, {{"MQTT_BROKER", "broker.example"},
                                      {"MQTT_PORT", "8883"},
                                      {"MQTT_PROTOCOL", "3.1.1"},
                                      {"MQTT_TLS", "yes"},
                                      {"MQTT_TLS_VERIFY", "off"},
                                      {"LOG_FORMAT", "json"},
                                      {"LOG_LEVEL", "debug"},
                                      {"WORKER_COUNT", "8"},
                                      {"MQTT_USERNAME", "u"},
                                      {"MQTT_PASSWORD", "p w"},
                                      {"MQTT_GROUP_NAME", "prod_workers"}});
    EXPECT_EQ(s.mqtt.broker, "broker.example");
    EXPECT_EQ(s.mqtt.port, 8883);
    EXPECT_EQ(s.mqtt.protocol, routemq::mqtt_protocol::v3_1_1);
    EXPECT_TRUE(s.tls.enabled);
    EXPECT_FALSE(s.tls.verify);
    EXPECT_EQ(s.logging.format, "json");
    EXPECT_EQ(s.logging.level, "debug");
    EXPECT_EQ(s.workers.count, 8);
    EXPECT_EQ(s.mqtt.password, "p w");
    EXPECT_EQ(s.mqtt.group_name, "prod_workers");
}

TEST(Settings, EnvironmentWinsOverFile) {
    const env_map file = {{"MQTT_PORT", "1884"}, {"MQTT_BROKER", "from-file"}};
    const env_map environment = {{"MQTT_PORT", "1885"}};
    const auto s = load_settings(file, environment);
    EXPECT_EQ(s.mqtt.port, 1885);
    EXPECT_EQ(s.mqtt.broker, "from-file");
}

TEST(Settings, EveryRejectionNamesVariableValueAndAllowed) {
    const std::pair<std::string, std::string> bad[] = {
        {"MQTT_PORT", "abc"},
        {"MQTT_PORT", "0"},
        {"MQTT_PORT", "65536"},
        {"MQTT_PORT", "80x"},
        {"MQTT_PORT", ""},
        {"MQTT_BROKER", ""},
        {"MQTT_BROKER", "a b"},
        {"MQTT_BROKER", "tcp://x"},
        {"MQTT_CLIENT_ID", ""},
        {"MQTT_CLIENT_ID", "a/b"},
        {"MQTT_GROUP_NAME", "a+b"},
        {"MQTT_GROUP_NAME", "g#"},
        {"MQTT_PROTOCOL", "4"},
        {"MQTT_KEEPALIVE", "1"},
        {"MQTT_TLS", "maybe"},
        {"MQTT_TLS_VERIFY", "2"},
        {"LOG_LEVEL", "loud"},
        {"LOG_FORMAT", "xml"},
        {"WORKER_COUNT", "-1"},
        {"WORKER_COUNT", "2000"},
        {"MQTT_RECONNECT_MAX_SECONDS", "0"},
        {"MQTT_TLS_CA_FILE", "/nonexistent/ca.pem"},
        {"HTTP_ENABLED", "sometimes"},
        {"HTTP_HOST", ""},
        {"HTTP_HOST", "http://0.0.0.0"},
        {"HTTP_PORT", "0"},
        {"HTTP_PORT", "8080a"},
        {"AUTOSCALE_MAX_WORKERS", "257"},
        {"AUTOSCALE_MIN_WORKERS", "0"},
        {"AUTOSCALE_BUSY_HIGH_PERCENT", "0"},
        {"AUTOSCALE_UP_AFTER_SECONDS", "0"},
    };
    for (const auto& [name, value] : bad) {
        const auto why = rejection(name, value);
        ASSERT_FALSE(why.empty()) << name << "='" << value << "' was accepted";
        EXPECT_EQ(why.find('\n'), std::string::npos) << why;
        EXPECT_NE(why.find(name + "='" + value + "'"), std::string::npos) << why;
        EXPECT_NE(why.find("allowed"), std::string::npos) << why;
    }
}

TEST(Settings, CertificateNeedsKey) {
    char path[] = "/tmp/routemq-cert-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    const auto why = rejection("MQTT_TLS_CERT_FILE", path);
    std::remove(path);
    EXPECT_NE(why.find("MQTT_TLS_KEY_FILE"), std::string::npos) << why;
}

TEST(Settings, TableIsCompleteAndDocumented) {
    for (const auto& v : routemq::settings_table()) {
        EXPECT_FALSE(v.description.empty()) << v.name;
        EXPECT_FALSE(v.allowed.empty()) << v.name;
        // Every default is itself valid.
        EXPECT_TRUE(rejection(std::string(v.name), std::string(v.default_value)).empty()) << v.name;
    }
}

TEST(Settings, BrokerWithPortOrSchemeSaysWhereThePortGoes) {
    for (const std::string value :
         {"host:1883", "tcp://host", "ssl://host:8883", "[::1]:1883", "mqtt://[::1]"}) {
        const auto why = rejection("MQTT_BROKER", value);
        ASSERT_FALSE(why.empty()) << value << " was accepted";
        EXPECT_EQ(why.find('\n'), std::string::npos) << why;
        EXPECT_NE(why.find("MQTT_BROKER='" + value + "'"), std::string::npos) << why;
        EXPECT_NE(why.find("put the port in MQTT_PORT"), std::string::npos) << why;
    }
    EXPECT_NE(rejection("HTTP_HOST", "0.0.0.0:8080").find("put the port in HTTP_PORT"),
              std::string::npos);
    EXPECT_NE(rejection("MQTT_BROKER", "host::1883"), "");  // two colons, but no IPv6 address
}

TEST(Settings, Ipv6AddressesAreAcceptedBareOrInBrackets) {
    // An IPv6 address has two colons or more, a host with a port only one.
    for (const std::string value : {"::1", "fe80::1", "2001:db8::17", "[::1]", "[2001:db8::17]"}) {
        EXPECT_EQ(rejection("MQTT_BROKER", value), "") << value;
    }
    EXPECT_EQ(load_settings({}, {{"MQTT_BROKER", "[::1]"}}).mqtt.broker, "::1");
    EXPECT_EQ(load_settings({}, {{"MQTT_BROKER", "::1"}}).mqtt.broker, "::1");
    EXPECT_EQ(load_settings({}, {{"HTTP_HOST", "::"}}).http.host, "::");
}

TEST(Settings, PasswordWithoutUserNameStopsStartupWithoutShowingIt) {
    const auto why = rejection("MQTT_PASSWORD", "hunter2-secret");
    ASSERT_FALSE(why.empty());
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    EXPECT_NE(why.find("MQTT_PASSWORD"), std::string::npos) << why;
    EXPECT_NE(why.find("MQTT_USERNAME"), std::string::npos) << why;
    EXPECT_EQ(why.find("hunter2"), std::string::npos) << why;
    EXPECT_NO_THROW(load_settings({}, {{"MQTT_USERNAME", "u"}, {"MQTT_PASSWORD", "p"}}));
}

TEST(Settings, NoMessageShowsASecret) {
    // Any rejection of a secret variable names it and hides its value.
    for (const auto& v : routemq::settings_table()) {
        if (!v.secret) {
            continue;
        }
        try {
            v.apply(*std::make_unique<routemq::settings>(), v, "\x01secret\x02");
        } catch (const routemq::config_error& e) {
            EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
        }
    }
    EXPECT_TRUE(std::any_of(routemq::settings_table().begin(), routemq::settings_table().end(),
                            [](const auto& v) { return v.name == "MQTT_PASSWORD" && v.secret; }));
}

TEST(Settings, TlsFilesMustBeReadableRegularFiles) {
    for (const std::string name : {"MQTT_TLS_CA_FILE", "MQTT_TLS_CERT_FILE", "MQTT_TLS_KEY_FILE"}) {
        const auto missing = rejection(name, "/nonexistent/file.pem");
        EXPECT_NE(missing.find(name + "='/nonexistent/file.pem'"), std::string::npos) << missing;
        EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;
        const auto directory = rejection(name, "/tmp");
        EXPECT_NE(directory.find("directory"), std::string::npos) << directory;
        EXPECT_NE(rejection(name, "/dev/null").find("regular file"), std::string::npos);
    }
    char path[] = "/tmp/routemq-key-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_EQ(rejection("MQTT_TLS_CA_FILE", path), "");
    chmod(path, 0);
    if (geteuid() != 0) {  // root reads any file
        EXPECT_NE(rejection("MQTT_TLS_CA_FILE", path).find("cannot read"), std::string::npos);
    }
    std::remove(path);
}

TEST(Settings, MaxPacketSize) {
    EXPECT_EQ(load_settings({}, {}).mqtt.max_packet_size, 1048576u);
    EXPECT_EQ(load_settings({}, {{"MQTT_MAX_PACKET_SIZE", "0"}}).mqtt.max_packet_size, 0u);
    EXPECT_EQ(load_settings({}, {{"MQTT_MAX_PACKET_SIZE", "4096"}}).mqtt.max_packet_size, 4096u);
    for (const std::string value : {"-1", "1", "127", "268435456", "1k"}) {
        EXPECT_NE(rejection("MQTT_MAX_PACKET_SIZE", value), "") << value;
    }
}

TEST(Settings, WarnsAboutUnknownFileKeysSuggestingTheClosest) {
    const routemq::env_map file = {{"MQTT_PORT", "1883"},
                                   {"MQTT_BROKR", "x"},
                                   {"mqtt_keepalive", "5"},
                                   {"SOMETHING_ELSE", ""}};
    const auto lines = routemq::settings_warnings(file, "my.env", load_settings({}, {}));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find("my.env: unknown setting MQTT_BROKR"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("did you mean MQTT_BROKER?"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("SOMETHING_ELSE"), std::string::npos) << lines[1];
    EXPECT_EQ(lines[1].find("did you mean"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find("did you mean MQTT_KEEPALIVE?"), std::string::npos) << lines[2];
    EXPECT_EQ(routemq::closest_variable("LOG_LEVL"), "LOG_LEVEL");
    EXPECT_EQ(routemq::closest_variable("COMPLETELY_DIFFERENT"), "");
}

TEST(Settings, WarnsAboutTlsWithoutVerification) {
    const auto s = load_settings({}, {{"MQTT_TLS", "true"}, {"MQTT_TLS_VERIFY", "false"}});
    const auto lines = routemq::settings_warnings({}, ".env", s);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("MQTT_TLS_VERIFY=false"), std::string::npos) << lines[0];
    EXPECT_TRUE(routemq::settings_warnings({}, ".env", load_settings({}, {})).empty());
}

TEST(Settings, PoolsAreANameListOrEmpty) {
    EXPECT_TRUE(load_settings({}, {}).workers.pools.empty());
    EXPECT_EQ(load_settings({}, {{"WORKER_POOLS", "gpu,email,gpu"}}).workers.pools,
              (std::vector<std::string>{"gpu", "email"}));
    EXPECT_EQ(load_settings({}, {{"WORKER_POOLS", "gpu, email"}}).workers.pools,
              (std::vector<std::string>{"gpu", "email"}));
    for (const char* bad : {"gpu,", ",gpu", "gpu, ", "a,,b", "g/pu", "g pu"}) {
        EXPECT_THROW(load_settings({}, {{"WORKER_POOLS", bad}}), routemq::config_error) << bad;
    }
}

TEST(Settings, TheDefaultMinimumOfWorkersMustNotExceedTheDefaultMaximum) {
    EXPECT_NO_THROW(load_settings({}, {{"AUTOSCALE_MIN_WORKERS", "3"}}))
        << "no default maximum: nothing to exceed";
    try {
        load_settings({}, {{"AUTOSCALE_MIN_WORKERS", "3"}, {"AUTOSCALE_MAX_WORKERS", "2"}});
        FAIL() << "accepted";
    } catch (const routemq::config_error& e) {
        EXPECT_STREQ(
            e.what(),
            "invalid AUTOSCALE_MIN_WORKERS='3': allowed at most AUTOSCALE_MAX_WORKERS (2)");
    }
}

TEST(Settings, TheLowBusyMarkMustBeBelowTheHighOne) {
    const auto s = load_settings(
        {}, {{"AUTOSCALE_BUSY_HIGH_PERCENT", "90"}, {"AUTOSCALE_BUSY_LOW_PERCENT", "10"}});
    EXPECT_EQ(s.workers.busy_high_percent, 90);
    EXPECT_EQ(s.workers.busy_low_percent, 10);
    try {
        load_settings(
            {}, {{"AUTOSCALE_BUSY_HIGH_PERCENT", "50"}, {"AUTOSCALE_BUSY_LOW_PERCENT", "50"}});
        FAIL() << "accepted";
    } catch (const routemq::config_error& e) {
        EXPECT_STREQ(e.what(),
                     "invalid AUTOSCALE_BUSY_LOW_PERCENT='50': allowed below "
                     "AUTOSCALE_BUSY_HIGH_PERCENT (50)");
    }
}
