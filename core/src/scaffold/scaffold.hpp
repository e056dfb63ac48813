#pragma once

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace routemq::detail {

/// `routemq new` was asked for something it cannot do as given: a name that is not snake_case,
/// a directory that is not an application's root, a controller that does not exist (exit 2).
class scaffold_usage_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// What `routemq new` wrote, relative to the application's root, in order.
struct scaffold_result {
    std::vector<std::string> created;
    std::vector<std::string> changed;
};

/// The lines of routers/routes.cpp above which `routemq new routes` adds its #include and its
/// call.
inline constexpr const char* kIncludeMarker = "// routemq new routes: includes above this line";
inline constexpr const char* kCallMarker = "// routemq new routes: calls above this line";

/// `routemq new controller NAME`: app/controllers/NAME_controller.hpp and .cpp under `root`, a
/// class `app::NAME_controller` whose static `handle` logs a message and answers a request.
/// Writes nothing and throws scaffold_usage_error for a bad name or root, routemq::error when
/// either file exists.
scaffold_result new_controller(const std::filesystem::path& root, const std::string& name);

/// `routemq new routes NAME`: routers/NAME_routes.hpp and .cpp binding `pattern` (default
/// `NAME/{id}`) at QoS 1 to `app::CONTROLLER_controller::handle` (CONTROLLER defaults to NAME
/// and must exist), and `routers::NAME_routes` called from `register_all` in routers/routes.cpp,
/// at its two marker lines. The build globs app/ and routers/, so the next build compiles the
/// new files. Writes nothing and throws scaffold_usage_error for a bad name, pattern, root or
/// controller, routemq::error when a file exists, the routes are already registered or a marker
/// line is missing.
scaffold_result new_routes(const std::filesystem::path& root, const std::string& name,
                           const std::string& controller = {}, const std::string& pattern = {});

/// The QoS of the route `routemq new routes` writes.
inline constexpr int kNewRouteQos = 1;

/// The pattern `routemq new routes NAME` binds when none is given: `NAME/{id}`.
std::string default_pattern(const std::string& name);

/// The route file and controller `routemq new app` starts an application with: `routemq new
/// controller hello` and `routemq new routes hello` (pattern default_pattern, QoS kNewRouteQos).
inline constexpr const char* kFirstRoute = "hello";

/// `routemq new app DIR`: a standalone application in DIR (created, or empty), named after it
/// (snake_case, at most 55 characters, not a name CMake reserves or `tests`): the files of
/// app_template() with `@APP@` filled in, a first controller and route file (`hello`, as
/// new_controller and new_routes write them) and k8s/NAME.yaml, which `manifests(NAME)` writes for
/// that route table. Writes nothing and throws scaffold_usage_error for a bad name or a directory
/// that is not empty; on a failure part way, removes what it wrote.
scaffold_result new_app(const std::filesystem::path& dir,
                        const std::function<std::string(const std::string& name)>& manifests);

}  // namespace routemq::detail
