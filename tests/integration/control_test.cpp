// `routemq ctl` against a real manager and mosquitto: the control socket serves root and the
// manager's own user; any other local user is refused, saying why, and changes nothing.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"

using namespace std::chrono_literals;

namespace {

constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr const char* kSensors = "sensors/{device_id}/data";

std::string refusal(int uid, int owner) {
    return fmt::format(
        "refused: uid {} is neither root nor the manager's user (uid {}); routemq ctl serves only "
        "those",
        uid, owner);
}

/// Runs the routemq executable as other users. The build tree may sit under a directory only
/// root can enter, so it runs a copy in a fresh directory of the temp directory that anyone can
/// read, through a script per user that starts it with setpriv (util-linux) as that uid and gid
/// with no supplementary groups; test::start_app runs those scripts as it runs the executable.
class control_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root: it runs the manager and `routemq ctl` as other users "
                            "(uid 65534 and 65533) and as root (CI runs as root)";
        }
        if (::access(kSetpriv, X_OK) != 0) {
            GTEST_SKIP() << kSetpriv << " (util-linux) is missing: it runs `routemq ctl` as "
                         << "other users";
        }
        namespace fs = std::filesystem;
        fs::create_directories(dir_);
        ::chmod(dir_.c_str(), 0755);
        routemq_ = (fs::path(dir_) / "routemq").string();
        fs::copy_file(ROUTEMQ_EXECUTABLE, routemq_);
        ::chmod(routemq_.c_str(), 0755);
        broker_ = std::make_unique<test::mosquitto_broker>();
    }
    void TearDown() override {
        // Reports written as another user go where scripts/test-tsan.sh looks for them.
        namespace fs = std::filesystem;
        const auto [options, at] = tsan_log_path();
        if (at != std::string::npos && fs::exists(reports())) {
            const auto to = fs::path(options.substr(at, options.find(':', at) - at)).parent_path();
            for (const auto& report : fs::directory_iterator(reports())) {
                fs::copy_file(report.path(), to / report.path().filename());
            }
        }
        fs::remove_all(dir_);
    }

    /// Under ThreadSanitizer (scripts/test-tsan.sh), TSAN_OPTIONS and where its log_path value
    /// starts; npos otherwise.
    static std::pair<std::string, std::size_t> tsan_log_path() {
        const char* options = std::getenv("TSAN_OPTIONS");
        const std::string text = options != nullptr ? options : "";
        const auto key = text.find("log_path=");
        return {text, key == std::string::npos ? key : key + 9};
    }
    std::string reports() const { return dir_ + "/tsan-reports"; }

    /// A script that runs the copy of routemq, with its arguments, as `uid`. Under
    /// ThreadSanitizer its reports go to a directory that user can write and it reads a copy of
    /// the suppressions (the build and source trees may not be reachable for it); TearDown
    /// moves the reports to the build tree's.
    std::string as(int uid) {
        const auto script = fmt::format("{}/as-{}", dir_, uid);
        if (!std::filesystem::exists(script)) {
            std::string tsan;
            if (auto [options, at] = tsan_log_path(); at != std::string::npos) {
                std::filesystem::create_directories(reports());
                ::chmod(reports().c_str(), 01777);
                options.replace(at, options.find(':', at) - at, reports() + "/tsan");
                // The suppressions file may be out of that user's reach too: a readable copy.
                if (const auto s = options.find("suppressions="); s != std::string::npos) {
                    const auto from = s + 13;
                    const auto end = options.find(':', from);
                    const auto copy = dir_ + "/tsan-suppressions.txt";
                    std::filesystem::copy_file(options.substr(from, end - from), copy,
                                               std::filesystem::copy_options::overwrite_existing);
                    ::chmod(copy.c_str(), 0644);
                    options.replace(from, end - from, copy);
                }
                tsan = fmt::format("TSAN_OPTIONS='{}'; export TSAN_OPTIONS\n", options);
            }
            std::ofstream(script) << fmt::format(
                "#!/bin/sh\n{}exec {} --reuid={} --regid={} --clear-groups '{}' \"$@\"\n", tsan,
                kSetpriv, uid, uid, routemq_);
            ::chmod(script.c_str(), 0755);
        }
        return script;
    }

    /// `routemq ctl args...` run by `executable` (the copy, or a script of as()), once it ended.
    std::unique_ptr<test::child_process> ctl(const std::string& executable,
                                             std::vector<std::string> args) {
        args.insert(args.begin(), "ctl");
        auto run = test::start_app(executable, broker_->port(), std::move(args), ids_);
        EXPECT_TRUE(run->wait(10s).has_value()) << run->output();
        return run;
    }

    /// `routemq ctl scale` of the sensors route to 2, run by `executable`, is served: the manager
    /// scales it.
    void expect_served_scale(test::child_process& app, const std::string& executable) {
        auto scale = ctl(executable, {"scale", kSensors, "2"});
        EXPECT_EQ(scale->wait(0ms), 0) << scale->output();
        EXPECT_TRUE(
            app.wait_for_output(fmt::format("route '{}' scaled to 2 (routemq ctl)", kSensors), 5s))
            << app.output();
    }

    /// Each process's pid and how many workers serve the sensors route, as root sees them: what a
    /// served scale, recycle or reload would change.
    std::pair<std::map<std::string, int>, int> plan() {
        for (int i = 0;; ++i) {
            auto run = ctl(routemq_, {"workers", "--json"});
            EXPECT_EQ(run->wait(0ms), 0) << run->output();
            const auto report = nlohmann::json::parse(run->output());
            std::map<std::string, int> pids;
            for (const auto& p : report.at("processes")) {
                pids[p.at("process").get<std::string>()] = p.at("pid").get<int>();
            }
            for (const auto& rt : report.at("routes")) {
                if (rt.at("route").get<std::string>() == kSensors) {
                    return {pids, rt.at("workers").get<int>()};
                }
            }
            if (i == 50) {
                return {pids, -1};
            }
            std::this_thread::sleep_for(100ms);  // the route table is sampled every second
        }
    }

    const std::string dir_ = test::temp_path("ctl-users");
    std::string routemq_;
    std::unique_ptr<test::mosquitto_broker> broker_;
    const std::map<std::string, std::string> ids_ = {
        {"MQTT_CLIENT_ID", "ctl-users"},
        {"INSTANCE_NAME", "ctl-users-" + std::to_string(getpid())}};
};

}  // namespace

TEST_F(control_test, CtlRefusesOtherUsersWithoutChangingThePlanAndStillServesRoot) {
    auto app = test::start_app(routemq_, broker_->port(), {"--workers"}, ids_);
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 4)) << app->output();
    const auto before = plan();
    ASSERT_EQ(before.first.size(), 4u);
    ASSERT_EQ(before.second, 3);

    const std::vector<std::vector<std::string>> commands = {{"workers"},
                                                            {"workers", "--json"},
                                                            {"scale", kSensors, "1"},
                                                            {"recycle", "w1"},
                                                            {"reload"}};
    for (const auto& command : commands) {
        auto run = ctl(as(65534), command);
        EXPECT_EQ(run->wait(0ms), 1) << run->output();
        EXPECT_EQ(run->output(), "routemq: " + refusal(65534, 0) + "\n")
            << "routemq ctl " << command[0] << " as uid 65534";
        // The manager says whom it refused, once per connection.
        EXPECT_TRUE(
            app->wait_for_output(fmt::format("{} (pid {})", refusal(65534, 0), run->pid()), 5s))
            << app->output();
    }
    EXPECT_EQ(test::count_occurrences(app->output(), refusal(65534, 0)),
              static_cast<int>(commands.size()))
        << app->output();

    // Nothing changed: the same workers in the same processes, nothing done for `routemq ctl`.
    EXPECT_EQ(plan(), before);
    EXPECT_EQ(app->output().find("(routemq ctl)"), std::string::npos) << app->output();
    EXPECT_EQ(app->output().find("reloading: replacing"), std::string::npos) << app->output();

    // Root is still served, for a change too.
    expect_served_scale(*app, routemq_);

    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST_F(control_test, AManagerRunByAnotherUserServesThatUserOnly) {
    auto app = test::start_app(as(65534), broker_->port(), {"--workers"}, ids_);
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 4)) << app->output();

    auto own = ctl(as(65534), {"workers"});
    EXPECT_EQ(own->wait(0ms), 0) << own->output();
    EXPECT_NE(own->output().find("4 of 4 workers running (4 of 4 processes)"), std::string::npos)
        << own->output();
    // Root does not believe it: any local user could hold a control socket's name (bind it
    // before the manager starts) and answer ctl with what it likes.
    auto root = ctl(routemq_, {"workers"});
    EXPECT_EQ(root->wait(0ms), 1) << root->output();
    EXPECT_NE(root->output().find(
                  "the control socket is held by uid 65534, neither root nor you (uid 0): not a "
                  "manager routemq ctl trusts (run it as the manager's user)"),
              std::string::npos)
        << root->output();

    // A third user neither trusts that manager nor would be served by it.
    auto other = ctl(as(65533), {"scale", kSensors, "1"});
    EXPECT_EQ(other->wait(0ms), 1) << other->output();
    EXPECT_NE(other->output().find("the control socket is held by uid 65534, neither root nor "
                                   "you (uid 65533)"),
              std::string::npos)
        << other->output();
    EXPECT_EQ(app->output().find("(routemq ctl)"), std::string::npos) << app->output();

    expect_served_scale(*app, as(65534));

    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}
