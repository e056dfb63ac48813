// The framework as an application's developer gets it, end to end: this build installed
// (`cmake --install` into a scratch prefix), `routemq new app` from the installed tool, a
// controller and a route file added with `routemq new`, the application built with CMake against
// the installed package alone (find_package(RouteMQ), not this source tree), its own tests run,
// its routes listed, its manifests written, and a real request answered through mosquitto. A
// program built with pkg-config alone lists its route too. scripts/check-package.sh does the same
// from the Debian package on a machine with no source tree (make check).
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

/// Runs `argv` to its end (at most `timeout`) with `env` added; its exit status and output.
finished run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s,
             const std::map<std::string, std::string>& env = {}) {
    test::child_process p(argv, env, test::temp_path("scaffold-step.log"));
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

/// A scratch directory, removed with the object.
class scratch {
public:
    scratch() {
        std::string dir = (fs::temp_directory_path() / "routemq-new-XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        root_ = dir;
    }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    const fs::path& root() const { return root_; }

private:
    fs::path root_;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST(InstalledFramework, ANewAppIsBuiltTestedListedDeployedAndAnswers) {
    scratch dir;
    const auto prefix = (dir.root() / "prefix").string();
    auto step = run({ROUTEMQ_CMAKE, "--install", ROUTEMQ_BINARY_DIR, "--prefix", prefix});
    ASSERT_EQ(step.status, 0) << step.output;
    const std::string routemq = prefix + "/bin/routemq";
    const auto app = dir.root() / "greeter";
    const std::string root = app.string();

    step = run({routemq, "new", "app", root});
    ASSERT_EQ(step.status, 0) << step.output;
    for (const char* file : {"CMakeLists.txt", "Makefile", "main.cpp", "routers/routes.cpp",
                             "routers/hello_routes.cpp", "app/controllers/hello_controller.cpp",
                             "tests/hello_test.cpp", "tests/integration/hello_broker_test.cpp",
                             ".env.example", "Dockerfile", "k8s/greeter.yaml", ".clang-format"}) {
        EXPECT_TRUE(contains(step.output, "created " + (app / file).string())) << step.output;
    }
    EXPECT_EQ(read(app / "main.cpp").find("@APP@"), std::string::npos);
    EXPECT_TRUE(contains(read(app / ".env.example"), "\nMQTT_CLIENT_ID=greeter\n"));
    EXPECT_TRUE(contains(read(app / ".env.example"), "\nMQTT_GROUP_NAME=greeter\n"));
    // Never into a directory that holds something; a name that cannot be a client id.
    EXPECT_EQ(run({routemq, "new", "app", root}).status, 2);
    EXPECT_EQ(run({routemq, "new", "app", (dir.root() / "Bad-Name").string()}).status, 2);
    EXPECT_FALSE(fs::exists(dir.root() / "Bad-Name"));

    step = run({routemq, "new", "controller", "greeting", "--dir", root});
    ASSERT_EQ(step.status, 0) << step.output;
    step = run({routemq, "new", "routes", "greeting", "--dir", root});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_TRUE(contains(step.output, "changed routers/routes.cpp")) << step.output;
    // Never over what exists: exit 1, one line.
    step = run({routemq, "new", "controller", "greeting", "--dir", root});
    EXPECT_EQ(step.status, 1);
    EXPECT_EQ(step.output,
              "routemq: app/controllers/greeting_controller.hpp already exists; not overwriting "
              "it\n");

    // What it wrote is already as `make format` would write it.
    step = run({"/bin/sh", "-c",
                "command -v clang-format >/dev/null || exit 0; cd '" + root +
                    "' && clang-format --dry-run --Werror $(find app routers tests main.cpp "
                    "-name '*.?pp')"});
    EXPECT_EQ(step.status, 0) << step.output;

    // Built against the installed package only, as the framework was built (its sanitizers
    // come along with RouteMQ::routemq).
    const std::string build = root + "/build";
    step = run({ROUTEMQ_CMAKE, "-S", root, "-B", build, "-DCMAKE_BUILD_TYPE=" ROUTEMQ_BUILD_TYPE,
                "-DCMAKE_CXX_COMPILER=" ROUTEMQ_CXX_COMPILER, "-DCMAKE_PREFIX_PATH=" + prefix},
               120s);
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_TRUE(contains(step.output, prefix + "/lib/cmake/RouteMQ") ||
                contains(read(build + "/CMakeCache.txt"), "RouteMQ_DIR:PATH=" + prefix))
        << "found the installed package";
    step = run({ROUTEMQ_CMAKE, "--build", build, "-j2"}, 900s);
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_FALSE(contains(step.output, "warning:")) << step.output;  // -Wall -Wextra

    // Its own tests: the harness test and the broker test.
    step = run({ROUTEMQ_CTEST, "--test-dir", build, "--output-on-failure"}, 300s);
    EXPECT_EQ(step.status, 0) << step.output;
    EXPECT_TRUE(contains(step.output, "100% tests passed, 0 tests failed out of 4")) << step.output;

    const std::string greeter = build + "/greeter";
    step = run({greeter, "--env-file", "/dev/null", "routes"});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_TRUE(contains(step.output, "greeting/{id}")) << step.output;
    EXPECT_TRUE(contains(step.output, "app::greeting_controller::handle")) << step.output;
    EXPECT_TRUE(contains(step.output, "app::hello_controller::handle")) << step.output;

    // The manifests `routemq new app` wrote are what the built app writes for its routes
    // (`make k8s`): both routes are in the default pool, not shared, one process.
    step = run({greeter, "--env-file", "/dev/null", "deploy", "k8s", "--image", "greeter:0.1.0"});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_EQ(step.output, read(app / "k8s/greeter.yaml"));

    test::mosquitto_broker broker;
    auto server = test::start_app(greeter, broker.port(), {"--workers"});
    ASSERT_TRUE(server->wait_for_output("] serving", 15s)) << server->output();
    // The application's name is its client ids' prefix: not the example's `routemq-...`.
    EXPECT_TRUE(contains(server->output(), "as 'greeter-")) << server->output();
    test::test_client caller(broker.port(), "itest-scaffold-" + std::to_string(getpid()), true,
                             true);
    caller.subscribe("routemq/replies/#");
    caller.publish_request("greeting/42", "hello", "routemq/replies/test-greeting", "c42");
    const auto answers = caller.collect(2, 10s);
    ASSERT_EQ(answers.size(), 2u) << server->output();
    EXPECT_EQ(answers[0].property("routemq-status"), "accepted");
    EXPECT_EQ(answers[1].property("routemq-status"), "done");
    EXPECT_EQ(answers[1].correlation_data, "c42");
    EXPECT_EQ(nlohmann::json::parse(answers[1].payload),
              nlohmann::json::parse(R"({"topic":"greeting/42","params":{"id":"42"},"bytes":5})"));
    EXPECT_TRUE(server->wait_for_output("greeting: 5 bytes on greeting/42", 5s))
        << server->output();

    // pkg-config alone: one file, one command.
    const auto single = dir.root() / "single.cpp";
    std::ofstream(single) << R"(#include <routemq/routemq.hpp>

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("ping/{id}", [](routemq::context& ctx) { ctx.reply("pong"); }, {.qos = 1});
    }, {.name = "single"});
}
)";
    const auto binary = (dir.root() / "single").string();
    step = run({"/bin/sh", "-c",
                "\"" ROUTEMQ_CXX_COMPILER "\" -o '" + binary + "' '" + single.string() +
                    "' $(pkg-config --cflags --libs routemq)"},
               300s, {{"PKG_CONFIG_PATH", prefix + "/lib/pkgconfig"}});
    ASSERT_EQ(step.status, 0) << step.output;
    step = run({binary, "--env-file", "/dev/null", "routes"});
    ASSERT_EQ(step.status, 0) << step.output;
    EXPECT_TRUE(contains(step.output, "ping/{id}")) << step.output;
}
