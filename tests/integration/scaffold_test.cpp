// `routemq new`, end to end: a copy of the example application (CMakeLists.txt, main.cpp, app/,
// routers/) gets a controller and a route file from the built routemq, is built with CMake as a
// developer builds it, except against this build's framework (ROUTEMQ_PREBUILT: only the
// application compiles, about a minute rather than several on two cores), lists the new route,
// and answers a real request through mosquitto.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct finished {
    int status = -1;
    std::string output;
};

/// Runs `argv` to its end (at most `timeout`); its exit status and what it printed.
finished run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s) {
    test::child_process p(argv, {}, test::temp_path("scaffold-step.log"));
    const auto status = p.wait(timeout);
    if (!status) {
        p.signal(SIGKILL);
        p.wait(5s);
    }
    return {status.value_or(-1), p.output()};
}

std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// A copy of the example application's sources, removed with the object.
class application_copy {
public:
    application_copy() {
        std::string dir = (fs::temp_directory_path() / "routemq-new-XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        root_ = dir;
        const fs::path source = ROUTEMQ_SOURCE_DIR;
        for (const char* file : {"CMakeLists.txt", "main.cpp", ".clang-format"}) {
            fs::copy_file(source / file, root_ / file);
        }
        for (const char* dir : {"app", "routers"}) {
            fs::copy(source / dir, root_ / dir, fs::copy_options::recursive);
        }
    }
    ~application_copy() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    const fs::path& root() const { return root_; }

private:
    fs::path root_;
};

}  // namespace

TEST(ScaffoldedApp, NewControllerAndRoutesAreBuiltListedAndAnswer) {
    application_copy copy;
    const std::string dir = copy.root().string();
    const std::string routemq = ROUTEMQ_EXECUTABLE;

    auto step = run({routemq, "new", "controller", "greeting", "--dir", dir});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_NE(step.output.find("created app/controllers/greeting_controller.cpp"),
              std::string::npos)
        << step.output;
    step = run({routemq, "new", "routes", "greeting", "--dir", dir});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_NE(step.output.find("changed routers/routes.cpp"), std::string::npos) << step.output;

    // Never over what exists: exit 1, one line.
    const auto before = read(copy.root() / "app/controllers/greeting_controller.cpp");
    step = run({routemq, "new", "controller", "greeting", "--dir", dir});
    EXPECT_EQ(step.status, 1);
    EXPECT_EQ(step.output,
              "routemq: app/controllers/greeting_controller.hpp already exists; not overwriting "
              "it\n");
    EXPECT_EQ(read(copy.root() / "app/controllers/greeting_controller.cpp"), before);
    step = run({routemq, "new", "controller", "Greeting", "--dir", dir});
    EXPECT_EQ(step.status, 2) << step.output;

    // What it wrote is already as `make format` would write it.
    step = run({"/bin/sh", "-c",
                "command -v clang-format >/dev/null || exit 0; cd '" + dir +
                    "' && clang-format --dry-run --Werror app/controllers/greeting_controller.* "
                    "routers/greeting_routes.* routers/routes.cpp"});
    EXPECT_EQ(step.status, 0) << step.output;

    // The next build compiles the new files: CMake globs app/ and routers/.
    const std::string build = dir + "/build";
    step =
        run({ROUTEMQ_CMAKE, "-S", dir, "-B", build, "-DCMAKE_BUILD_TYPE=" ROUTEMQ_BUILD_TYPE,
             "-DCMAKE_CXX_COMPILER=" ROUTEMQ_CXX_COMPILER,
             "-DROUTEMQ_SANITIZE=" ROUTEMQ_SANITIZE_SETTING, "-DROUTEMQ_TSAN=" ROUTEMQ_TSAN_SETTING,
             "-DROUTEMQ_BUILD_TESTS=OFF", "-DROUTEMQ_PREBUILT=" ROUTEMQ_BINARY_DIR},
            120s);
    ASSERT_EQ(step.status, 0) << step.output;
    step = run({ROUTEMQ_CMAKE, "--build", build, "--target", "routemq", "-j2"}, 600s);
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_EQ(step.output.find("warning:"), std::string::npos) << step.output;  // -Wall -Wextra
    const std::string scaffolded = build + "/routemq";

    step = run({scaffolded, "--env-file", "/dev/null", "routes"});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_NE(step.output.find("greeting/{id}"), std::string::npos) << step.output;
    EXPECT_NE(step.output.find("app::greeting_controller::handle"), std::string::npos)
        << step.output;
    EXPECT_NE(step.output.find("sensors/{device_id}/data"), std::string::npos) << step.output;

    test::mosquitto_broker broker;
    auto app = test::start_app(scaffolded, broker.port());
    ASSERT_TRUE(app->wait_for_output("serving", 10s)) << app->output();
    test::test_client caller(broker.port(), "itest-scaffold-" + std::to_string(getpid()), true,
                             true);
    caller.subscribe("routemq/replies/#");
    caller.publish_request("greeting/42", "hello", "routemq/replies/test-greeting", "c42");
    const auto answers = caller.collect(2, 10s);
    ASSERT_EQ(answers.size(), 2u) << app->output();
    EXPECT_EQ(answers[0].property("routemq-status"), "accepted");
    EXPECT_EQ(answers[1].property("routemq-status"), "done");
    EXPECT_EQ(answers[1].correlation_data, "c42");
    EXPECT_EQ(nlohmann::json::parse(answers[1].payload),
              nlohmann::json::parse(R"({"topic":"greeting/42","params":{"id":"42"},"bytes":5})"));
    EXPECT_NE(app->output().find("greeting: 5 bytes on greeting/42"), std::string::npos)
        << app->output();
}
