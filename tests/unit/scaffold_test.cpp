#include "scaffold/scaffold.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <routemq/errors.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using routemq::detail::new_controller;
using routemq::detail::new_routes;
using routemq::detail::scaffold_usage_error;

namespace {

std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

const std::string kRoutesCpp = R"(#include "routes.hpp"

#include "alpha_routes.hpp"
#include "zulu_routes.hpp"
// routemq new routes: includes above this line

namespace routers {

void register_all(routemq::router& router) {
    zulu_routes(router);
    alpha_routes(router);
    // routemq new routes: calls above this line
}

}  // namespace routers
)";

/// A fresh application root: routers/routes.cpp (the markers in place) and app/controllers/.
class Scaffold : public ::testing::Test {
protected:
    void SetUp() override {
        std::string dir = (fs::temp_directory_path() / "routemq-scaffold-XXXXXX").string();
        ASSERT_NE(::mkdtemp(dir.data()), nullptr);
        root_ = dir;
        fs::create_directories(root_ / "app" / "controllers");
        write(root_ / "routers" / "routes.cpp", kRoutesCpp);
    }
    void TearDown() override { fs::remove_all(root_); }

    /// The one-line error of `body`, and whether it was a usage error (exit 2) or a refusal.
    template <class Body>
    std::string refusal(Body&& body, bool& usage) {
        try {
            body();
        } catch (const scaffold_usage_error& e) {
            usage = true;
            return e.what();
        } catch (const routemq::error& e) {
            usage = false;
            return e.what();
        }
        ADD_FAILURE() << "no refusal";
        return {};
    }

    fs::path root_;
};

}  // namespace

TEST_F(Scaffold, ControllerWritesItsPair) {
    const auto done = new_controller(root_, "door_bell");
    EXPECT_EQ(done.created, (std::vector<std::string>{"app/controllers/door_bell_controller.hpp",
                                                      "app/controllers/door_bell_controller.cpp"}));
    EXPECT_TRUE(done.changed.empty());
    const auto header = read(root_ / "app/controllers/door_bell_controller.hpp");
    EXPECT_NE(header.find("class door_bell_controller {"), std::string::npos) << header;
    EXPECT_NE(header.find("static void handle(routemq::context& ctx);"), std::string::npos);
    const auto source = read(root_ / "app/controllers/door_bell_controller.cpp");
    EXPECT_NE(source.find("#include \"controllers/door_bell_controller.hpp\""), std::string::npos);
    EXPECT_NE(source.find("void door_bell_controller::handle(routemq::context& ctx) {"),
              std::string::npos);
    EXPECT_EQ(source.find('@'), std::string::npos) << source;  // no placeholder left
}

TEST_F(Scaffold, RoutesAreWrittenAndRegisteredAtTheMarkers) {
    new_controller(root_, "greeting");
    const auto done = new_routes(root_, "greeting");
    EXPECT_EQ(done.created, (std::vector<std::string>{"routers/greeting_routes.hpp",
                                                      "routers/greeting_routes.cpp"}));
    EXPECT_EQ(done.changed, (std::vector<std::string>{"routers/routes.cpp"}));
    const auto source = read(root_ / "routers/greeting_routes.cpp");
    EXPECT_NE(source.find("void greeting_routes(routemq::router& r) {\n"
                          "    r.on(\"greeting/{id}\", &app::greeting_controller::handle, "
                          "{.qos = 1});\n"),
              std::string::npos)
        << source;
    // The include in sorted place, the call last, with register_all's own parameter name.
    EXPECT_EQ(read(root_ / "routers/routes.cpp"), R"(#include "routes.hpp"

#include "alpha_routes.hpp"
#include "greeting_routes.hpp"
#include "zulu_routes.hpp"
// routemq new routes: includes above this line

namespace routers {

void register_all(routemq::router& router) {
    zulu_routes(router);
    alpha_routes(router);
    greeting_routes(router);
    // routemq new routes: calls above this line
}

}  // namespace routers
)");
    EXPECT_FALSE(fs::exists(root_ / "routers/routes.cpp.routemq-new"));
}

TEST_F(Scaffold, RoutesTakeAnotherControllerAndPattern) {
    new_controller(root_, "door_bell");
    new_routes(root_, "ring", "door_bell", R"(doors/{door}/ring"\)");
    const auto source = read(root_ / "routers/ring_routes.cpp");
    EXPECT_NE(source.find(R"(r.on("doors/{door}/ring\"\\", &app::door_bell_controller::handle)"),
              std::string::npos)
        << source;
    EXPECT_NE(source.find("#include \"controllers/door_bell_controller.hpp\""), std::string::npos);
}

TEST_F(Scaffold, RefusesBadNamesPatternsAndRootsWithOneLine) {
    bool usage = false;
    for (const char* bad : {"Greeting", "door-bell", "2fa", "a__b", "trailing_", "", "x y"}) {
        const auto why = refusal([&] { new_controller(root_, bad); }, usage);
        EXPECT_TRUE(usage) << bad;
        EXPECT_NE(why.find("is not snake_case"), std::string::npos) << why;
    }
    auto why = refusal([&] { new_routes(root_, "greeting"); }, usage);
    EXPECT_TRUE(usage);
    EXPECT_NE(why.find("routemq new controller greeting"), std::string::npos) << why;
    new_controller(root_, "greeting");
    why = refusal([&] { new_routes(root_, "greeting", "", "a/#/b"); }, usage);
    EXPECT_TRUE(usage);
    EXPECT_NE(why.find("invalid route pattern 'a/#/b'"), std::string::npos) << why;
    why = refusal([&] { new_controller(root_ / "app", "other"); }, usage);
    EXPECT_TRUE(usage);
    EXPECT_NE(why.find("is not the root of a RouteMQ application"), std::string::npos) << why;
    EXPECT_FALSE(fs::exists(root_ / "app/app"));
    EXPECT_EQ(read(root_ / "routers/routes.cpp"), kRoutesCpp);
}

TEST_F(Scaffold, NeverOverwrites) {
    new_controller(root_, "greeting");
    write(root_ / "app/controllers/greeting_controller.cpp", "mine");
    bool usage = true;
    auto why = refusal([&] { new_controller(root_, "greeting"); }, usage);
    EXPECT_FALSE(usage);
    EXPECT_EQ(why, "app/controllers/greeting_controller.hpp already exists; not overwriting it");
    EXPECT_EQ(read(root_ / "app/controllers/greeting_controller.cpp"), "mine");

    write(root_ / "routers/greeting_routes.cpp", "mine too");
    why = refusal([&] { new_routes(root_, "greeting"); }, usage);
    EXPECT_FALSE(usage);
    EXPECT_EQ(why, "routers/greeting_routes.cpp already exists; not overwriting it");
    EXPECT_FALSE(fs::exists(root_ / "routers/greeting_routes.hpp"));  // nothing half-done
    EXPECT_EQ(read(root_ / "routers/greeting_routes.cpp"), "mine too");
    EXPECT_EQ(read(root_ / "routers/routes.cpp"), kRoutesCpp);

    fs::remove(root_ / "routers/greeting_routes.cpp");
    new_routes(root_, "greeting");
    fs::remove(root_ / "routers/greeting_routes.cpp");
    fs::remove(root_ / "routers/greeting_routes.hpp");
    why = refusal([&] { new_routes(root_, "greeting"); }, usage);
    EXPECT_EQ(why, "routers/routes.cpp already calls greeting_routes");
}

TEST_F(Scaffold, WritesNothingWithoutTheMarkers) {
    new_controller(root_, "greeting");
    auto routes = kRoutesCpp;
    const std::string marker = std::string("    ") + routemq::detail::kCallMarker + "\n";
    routes.replace(routes.find(marker), marker.size(), "");
    write(root_ / "routers/routes.cpp", routes);
    bool usage = true;
    const auto why = refusal([&] { new_routes(root_, "greeting"); }, usage);
    EXPECT_FALSE(usage);
    EXPECT_NE(why.find("has no line '// routemq new routes: calls above this line'"),
              std::string::npos)
        << why;
    EXPECT_FALSE(fs::exists(root_ / "routers/greeting_routes.hpp"));
    EXPECT_FALSE(fs::exists(root_ / "routers/greeting_routes.cpp"));
    EXPECT_EQ(read(root_ / "routers/routes.cpp"), routes);
}

TEST_F(Scaffold, AppRefusesNamesItCannotBuildAndLeavesNothing) {
    const auto quiet = [](const std::string&) { return std::string("# manifests\n"); };
    for (const char* name : {"tests", "test", "install", "Door",
                             "a_very_long_application_name_"
                             "that_no_kubernetes_object_takes"}) {
        EXPECT_THROW(routemq::detail::new_app(root_ / "apps" / name, quiet), scaffold_usage_error)
            << name;
    }
    EXPECT_FALSE(fs::exists(root_ / "apps"));
    // Not into a directory that holds something.
    EXPECT_THROW(routemq::detail::new_app(root_, quiet), scaffold_usage_error);
}

TEST_F(Scaffold, AppFailingPartWayRemovesWhatItMadeAndOnlyThat) {
    const auto failing = [](const std::string&) -> std::string {
        throw routemq::error("no manifests");
    };
    EXPECT_THROW(routemq::detail::new_app(root_ / "a" / "b" / "door_bell", failing),
                 routemq::error);
    EXPECT_FALSE(fs::exists(root_ / "a")) << "the directories it made for it go too";
    fs::create_directories(root_ / "empty");
    EXPECT_THROW(routemq::detail::new_app(root_ / "empty", failing), routemq::error);
    EXPECT_TRUE(fs::is_directory(root_ / "empty")) << "the empty directory it was given stays";
    EXPECT_TRUE(fs::is_empty(root_ / "empty"));
    EXPECT_TRUE(fs::exists(root_ / "routers" / "routes.cpp")) << "nothing else is touched";
}

TEST_F(Scaffold, AppWritesAProjectNamedAfterItsDirectory) {
    const auto done = routemq::detail::new_app(
        root_ / "door_bell/", [](const std::string& name) { return "# for " + name + "\n"; });
    EXPECT_EQ(read(root_ / "door_bell" / "k8s" / "door_bell.yaml"), "# for door_bell\n");
    EXPECT_NE(read(root_ / "door_bell" / "main.cpp").find("{.name = \"door_bell\"}"),
              std::string::npos);
    EXPECT_NE(read(root_ / "door_bell" / "routers" / "hello_routes.cpp").find("{.qos = 1}"),
              std::string::npos);
    EXPECT_NE(std::find(done.created.begin(), done.created.end(), "tests/hello_test.cpp"),
              done.created.end());
}
