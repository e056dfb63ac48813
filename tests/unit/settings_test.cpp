#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/settings.hpp>
#include <string>

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
    const auto why = rejection("MQTT_TLS_CERT_FILE", "/dev/null");
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
