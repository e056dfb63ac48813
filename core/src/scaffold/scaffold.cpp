#include "scaffold/scaffold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>
#include <system_error>

#include "routemq/errors.hpp"
#include "routemq/pattern.hpp"
#include "scaffold/app_template.hpp"

namespace routemq::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kControllerHeader = R"(#pragma once

#include <routemq/context.hpp>

namespace app {

/// Made by `routemq new controller @NAME@`: handles the messages of its routes.
class @NAME@_controller {
public:
    /// Logs the message and, when it is a request (an MQTT 5 message with a Response Topic),
    /// answers with its topic, its captured parameters and its size in bytes.
    static void handle(routemq::context& ctx);
};

}  // namespace app
)";

constexpr std::string_view kControllerSource = R"(#include "controllers/@NAME@_controller.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>

namespace app {

void @NAME@_controller::handle(routemq::context& ctx) {
    spdlog::info("@NAME@: {} bytes on {}", ctx.payload().size(), ctx.topic());
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [name, value] : ctx.params()) {
        params[std::string(name)] = std::string(value);
    }
    // Publishes nothing (and returns false) when the message is not a request.
    ctx.reply(nlohmann::json{
        {"topic", ctx.topic()}, {"params", params}, {"bytes", ctx.payload().size()}});
}

}  // namespace app
)";

constexpr std::string_view kRoutesHeader = R"(#pragma once

#include <routemq/router.hpp>

namespace routers {

/// Made by `routemq new routes @NAME@`; called from register_all (routes.cpp).
void @NAME@_routes(routemq::router& r);

}  // namespace routers
)";

constexpr std::string_view kRoutesSource = R"(#include "@NAME@_routes.hpp"

#include "controllers/@CONTROLLER@_controller.hpp"

namespace routers {

void @NAME@_routes(routemq::router& r) {
    r.on(@PATTERN@, &app::@CONTROLLER@_controller::handle, {.qos = @QOS@});
}

}  // namespace routers
)";

std::string fill(std::string_view text,
                 const std::vector<std::pair<std::string, std::string>>& values) {
    std::string out(text);
    for (const auto& [key, value] : values) {
        for (auto at = out.find(key); at != std::string::npos;
             at = out.find(key, at + value.size())) {
            out.replace(at, key.size(), value);
        }
    }
    return out;
}

/// `text` as a C++ string literal.
std::string literal(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + '"';
}

void check_name(const std::string& what, const std::string& name) {
    static const std::regex kSnakeCase("[a-z][a-z0-9]*(_[a-z0-9]+)*");
    if (name.size() > 64 || !std::regex_match(name, kSnakeCase)) {
        throw scaffold_usage_error(fmt::format(
            "{} name '{}' is not snake_case: lower-case letters and digits, words joined by one "
            "'_', starting with a letter, at most 64 characters (e.g. door_bell)",
            what, name));
    }
}

void check_root(const fs::path& root) {
    std::error_code ec;
    if (!fs::is_regular_file(root / "routers" / "routes.cpp", ec) ||
        !fs::is_directory(root / "app" / "controllers", ec)) {
        throw scaffold_usage_error(fmt::format(
            "'{}' is not the root of a RouteMQ application (it needs routers/routes.cpp and "
            "app/controllers/): run `routemq new` there, or pass --dir",
            root.string()));
    }
}

void refuse_existing(const fs::path& root, const std::vector<std::string>& files) {
    for (const auto& file : files) {
        std::error_code ec;
        if (fs::exists(root / file, ec) || ec) {
            throw error(fmt::format("{} already exists; not overwriting it", file));
        }
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
        throw error(fmt::format("cannot read {}", path.string()));
    }
    return text.str();
}

/// Writes the new files, each created exclusively; on any failure removes what it created.
void create_files(const fs::path& root,
                  const std::vector<std::pair<std::string, std::string>>& files) {
    std::vector<fs::path> made;
    const auto undo = [&] {
        for (const auto& path : made) {
            std::error_code ec;
            fs::remove(path, ec);
        }
    };
    for (const auto& [name, text] : files) {
        const auto path = root / name;
        // "x": fails when the file appeared since it was checked, so nothing is overwritten.
        std::FILE* out = std::fopen(path.c_str(), "wx");
        if (out == nullptr) {
            undo();
            throw error(fmt::format("cannot create {} (does it exist already?)", name));
        }
        made.push_back(path);
        const bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
        if (std::fclose(out) != 0 || !ok) {
            undo();
            throw error(fmt::format("cannot write {}", name));
        }
    }
}

/// `text` split into lines, each without its '\n'; `ends_with_newline` tells whether the last
/// one had one.
std::vector<std::string> split_lines(const std::string& text, bool& ends_with_newline) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    ends_with_newline = !text.empty() && text.back() == '\n';
    return lines;
}

std::string trimmed(const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

/// routes.cpp with `routers::<name>_routes` included and called at the marker lines.
std::string register_routes(const std::string& routes_cpp, const std::string& name) {
    bool newline = false;
    auto lines = split_lines(routes_cpp, newline);
    const auto marker = [&](const char* text) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (trimmed(lines[i]) == text) {
                return i;
            }
        }
        throw error(fmt::format(
            "routers/routes.cpp has no line '{}' (nor the other marker, '{}'); put them back, "
            "or add the routes by hand",
            text, text == std::string_view(kIncludeMarker) ? kCallMarker : kIncludeMarker));
    };
    const auto include_at = marker(kIncludeMarker);
    const auto call_at = marker(kCallMarker);
    if (call_at < include_at) {
        throw error(fmt::format("routers/routes.cpp has '{}' above '{}'; it must be below",
                                kCallMarker, kIncludeMarker));
    }
    const std::regex call(fmt::format(R"(\b{}_routes\s*\()", name));
    if (std::regex_search(routes_cpp, call)) {
        throw error(fmt::format("routers/routes.cpp already calls {}_routes", name));
    }
    // The router's name in register_all's signature, for the call.
    std::smatch signature;
    const std::regex parameter(R"(register_all\s*\(\s*routemq::router\s*&\s*(\w+)\s*\))");
    const std::string argument =
        std::regex_search(routes_cpp, signature, parameter) ? signature[1].str() : "r";

    const auto indent = lines[call_at].substr(0, lines[call_at].find_first_not_of(" \t"));
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(call_at),
                 fmt::format("{}{}_routes({});", indent, name, argument));

    // Among the #include lines right above the marker, in sorted place, as clang-format keeps
    // them.
    const auto include = fmt::format("#include \"{}_routes.hpp\"", name);
    auto at = include_at;
    while (at > 0 && lines[at - 1].rfind("#include \"", 0) == 0 && include < lines[at - 1]) {
        --at;
    }
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), include);

    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += lines[i];
        if (i + 1 < lines.size() || newline) {
            out += '\n';
        }
    }
    return out;
}

}  // namespace

std::string default_pattern(const std::string& name) {
    return name + "/{id}";
}

scaffold_result new_controller(const fs::path& root, const std::string& name) {
    check_name("controller", name);
    check_root(root);
    const auto header = fmt::format("app/controllers/{}_controller.hpp", name);
    const auto source = fmt::format("app/controllers/{}_controller.cpp", name);
    refuse_existing(root, {header, source});
    const std::vector<std::pair<std::string, std::string>> values = {{"@NAME@", name}};
    create_files(root, {{header, fill(kControllerHeader, values)},
                        {source, fill(kControllerSource, values)}});
    return {{header, source}, {}};
}

scaffold_result new_routes(const fs::path& root, const std::string& name,
                           const std::string& controller, const std::string& pattern) {
    check_name("route file", name);
    const auto handler = controller.empty() ? name : controller;
    check_name("controller", handler);
    const auto topic = pattern.empty() ? default_pattern(name) : pattern;
    try {
        routemq::pattern compiled(topic);
    } catch (const error& e) {
        throw scaffold_usage_error(e.what());
    }
    check_root(root);
    std::error_code ec;
    if (!fs::is_regular_file(root / "app" / "controllers" / (handler + "_controller.hpp"), ec)) {
        throw scaffold_usage_error(fmt::format(
            "there is no app/controllers/{0}_controller.hpp: run `routemq new controller {0}` "
            "first, or name an existing controller with --controller",
            handler));
    }
    const auto header = fmt::format("routers/{}_routes.hpp", name);
    const auto source = fmt::format("routers/{}_routes.cpp", name);
    refuse_existing(root, {header, source});
    const auto routes_path = root / "routers" / "routes.cpp";
    const auto registered = register_routes(read_file(routes_path), name);

    const std::vector<std::pair<std::string, std::string>> values = {
        {"@NAME@", name},
        {"@CONTROLLER@", handler},
        {"@PATTERN@", literal(topic)},
        {"@QOS@", std::to_string(kNewRouteQos)}};
    create_files(root,
                 {{header, fill(kRoutesHeader, values)}, {source, fill(kRoutesSource, values)}});
    // Written aside and renamed over: routes.cpp is either as it was or complete.
    const auto temporary = fs::path(routes_path.string() + ".routemq-new");
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << registered;
        out.close();
        if (!out) {
            fs::remove(temporary, ec);
            fs::remove(root / header, ec);
            fs::remove(root / source, ec);
            throw error("cannot write routers/routes.cpp");
        }
    }
    fs::rename(temporary, routes_path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        fs::remove(root / header, ec);
        fs::remove(root / source, ec);
        throw error("cannot replace routers/routes.cpp");
    }
    return {{header, source}, {"routers/routes.cpp"}};
}

scaffold_result new_app(const fs::path& dir,
                        const std::function<std::string(const std::string& name)>& manifests) {
    auto path = fs::absolute(dir).lexically_normal();
    if (path.filename().empty()) {  // "demo/"
        path = path.parent_path();
    }
    const auto name = path.filename().string();
    check_name("application", name);
    // The executable, the CMake project and the prefix of the Kubernetes objects
    // (`<name>-<pool>`, at most 63 characters).
    static const std::vector<std::string> kTaken = {"all",  "clean",   "help",  "install",
                                                    "test", "package", "tests", "routemq"};
    if (name.size() > 55 || std::find(kTaken.begin(), kTaken.end(), name) != kTaken.end()) {
        throw scaffold_usage_error(fmt::format(
            "application name '{}' cannot name the project: at most 55 characters, and none of "
            "all, clean, help, install, package, test, tests and routemq (CMake or the "
            "framework has them)",
            name));
    }
    std::error_code ec;
    const bool existed = fs::exists(dir, ec);
    if (existed && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec))) {
        throw scaffold_usage_error(fmt::format(
            "'{}' exists and is not an empty directory; `routemq new app` writes only into a new "
            "or empty one",
            dir.string()));
    }
    // On a failure: what was created goes, from the topmost directory that did not exist (or
    // what was put into the empty one), and nothing else.
    auto topmost_new = path;
    while (!fs::exists(topmost_new.parent_path(), ec) && topmost_new.has_parent_path() &&
           topmost_new.parent_path() != topmost_new) {
        topmost_new = topmost_new.parent_path();
    }
    const auto undo = [&] {
        std::error_code ignored;
        if (!existed) {
            fs::remove_all(topmost_new, ignored);
            return;
        }
        std::vector<fs::path> entries;
        for (fs::directory_iterator it(dir, ignored), end; !ignored && it != end;
             it.increment(ignored)) {
            entries.push_back(it->path());
        }
        for (const auto& entry : entries) {
            fs::remove_all(entry, ignored);
        }
    };
    try {
        fs::create_directories(dir);
        scaffold_result out;
        std::vector<std::pair<std::string, std::string>> files;
        for (const auto& file : app_template()) {
            auto text = fill(file.text, {{"@APP@", name}});
            if (file.path == ".env.example") {
                // The defaults of an application named `name`: copied to .env, it must not give
                // the application the example's client ids.
                text = fill(text,
                            {{"\nMQTT_CLIENT_ID=routemq\n", "\nMQTT_CLIENT_ID=" + name + "\n"},
                             {"\nMQTT_GROUP_NAME=routemq\n", "\nMQTT_GROUP_NAME=" + name + "\n"}});
            }
            files.emplace_back(std::string(file.path), std::move(text));
            fs::create_directories((dir / file.path).parent_path());
            out.created.emplace_back(file.path);
        }
        fs::create_directories(dir / "app" / "controllers");
        fs::create_directories(dir / "k8s");
        create_files(dir, files);
        for (const auto& made : {new_controller(dir, kFirstRoute), new_routes(dir, kFirstRoute)}) {
            out.created.insert(out.created.end(), made.created.begin(), made.created.end());
        }
        const auto k8s = fmt::format("k8s/{}.yaml", name);
        create_files(dir, {{k8s, manifests(name)}});
        out.created.push_back(k8s);
        std::sort(out.created.begin(), out.created.end());
        return out;
    } catch (...) {
        undo();
        throw;
    }
}

}  // namespace routemq::detail
