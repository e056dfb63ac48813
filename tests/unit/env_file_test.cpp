#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <routemq/errors.hpp>
#include <routemq/settings.hpp>
#include <string>

namespace {

class temp_file {
public:
    explicit temp_file(const std::string& text) {
        char name[] = "/tmp/routemq-env-XXXXXX";
        const int fd = mkstemp(name);
        path_ = name;
        close(fd);
        std::ofstream(path_) << text;
    }
    ~temp_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace

TEST(EnvFile, ReadsNamesValuesQuotesAndComments) {
    temp_file f(
        "# comment\n"
        "\n"
        "MQTT_BROKER=broker.local\n"
        "export MQTT_PORT = 1884\n"
        "MQTT_PASSWORD=\"with # hash and spaces\"\n"
        "MQTT_USERNAME='single'\n"
        "LOG_LEVEL=debug # trailing comment\n"
        "EMPTY=\n");
    const auto env = routemq::read_env_file(f.path());
    EXPECT_EQ(env.at("MQTT_BROKER"), "broker.local");
    EXPECT_EQ(env.at("MQTT_PORT"), "1884");
    EXPECT_EQ(env.at("MQTT_PASSWORD"), "with # hash and spaces");
    EXPECT_EQ(env.at("MQTT_USERNAME"), "single");
    EXPECT_EQ(env.at("LOG_LEVEL"), "debug");
    EXPECT_EQ(env.at("EMPTY"), "");
}

TEST(EnvFile, RejectsMalformedLinesNamingFileAndLine) {
    temp_file f("MQTT_PORT=1\nthis is not a setting\n");
    try {
        routemq::read_env_file(f.path());
        FAIL() << "accepted a malformed line";
    } catch (const routemq::config_error& e) {
        EXPECT_NE(std::string(e.what()).find(f.path() + ":2"), std::string::npos) << e.what();
    }
    temp_file quote("A=\"open\n");
    EXPECT_THROW(routemq::read_env_file(quote.path()), routemq::config_error);
    EXPECT_THROW(routemq::read_env_file("/nonexistent/.env"), routemq::config_error);
}

TEST(EnvFile, RejectsANulByteNamingTheLineNotTheValue) {
    // A value read past a NUL would be cut where it is used (a C string) and in messages.
    temp_file f(std::string("MQTT_PORT=1\nMQTT_BROKER=host\0s3cr3t\n", 36));
    try {
        routemq::read_env_file(f.path());
        FAIL() << "accepted a NUL byte";
    } catch (const routemq::config_error& e) {
        const std::string why = e.what();
        EXPECT_NE(why.find(f.path() + ":2: the line holds a NUL byte"), std::string::npos) << why;
        EXPECT_EQ(why.find("s3cr3t"), std::string::npos) << why;
    }
}

TEST(EnvFile, ProcessEnvironmentWinsOverFile) {
    temp_file f("MQTT_PORT=1884\nMQTT_BROKER=file-broker\n");
    setenv("MQTT_PORT", "1999", 1);
    const auto s = routemq::load_settings(routemq::read_env_file(f.path()),
                                          routemq::read_process_environment());
    unsetenv("MQTT_PORT");
    EXPECT_EQ(s.mqtt.port, 1999);
    EXPECT_EQ(s.mqtt.broker, "file-broker");
}

TEST(EnvFile, MalformedLinesNeverShowTheirText) {
    // A password pasted on a line of its own, or after a broken name.
    for (const std::string line : {"s3cr3t-p4ss", "MQTT PASSWORD=s3cr3t-p4ss", "1X=s3cr3t-p4ss"}) {
        temp_file f("MQTT_PORT=1\n" + line + "\n");
        try {
            routemq::read_env_file(f.path());
            FAIL() << "accepted " << line;
        } catch (const routemq::config_error& e) {
            const std::string why = e.what();
            EXPECT_NE(why.find(f.path() + ":2"), std::string::npos) << why;
            EXPECT_EQ(why.find("s3cr3t"), std::string::npos) << why;
            EXPECT_EQ(why.find('\n'), std::string::npos) << why;
        }
    }
    temp_file quote("MQTT_PASSWORD=\"s3cr3t\n");
    try {
        routemq::read_env_file(quote.path());
        FAIL() << "accepted an unterminated quote";
    } catch (const routemq::config_error& e) {
        const std::string why = e.what();
        EXPECT_NE(why.find("MQTT_PASSWORD"), std::string::npos) << why;
        EXPECT_EQ(why.find("s3cr3t"), std::string::npos) << why;
    }
}
