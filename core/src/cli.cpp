#include "routemq/cli.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "routemq/application.hpp"
#include "routemq/errors.hpp"
#include "routemq/logging.hpp"
#include "routemq/route_table.hpp"
#include "routemq/settings.hpp"
#include "routemq/version.hpp"

namespace routemq {
namespace {

settings load(const std::string& env_file, bool env_file_given) {
    env_map file;
    if (env_file_given || std::filesystem::exists(env_file)) {
        file = read_env_file(env_file);
    }
    return load_settings(file, read_process_environment());
}

void block_stop_signals() {
    // Blocked before Paho or spdlog start a thread, so every thread inherits the mask and only
    // sigwait in the main thread ever sees SIGINT/SIGTERM.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int run_cli(int argc, char** argv, const route_registrar& routes) {
    CLI::App app{"RouteMQ: a route-declarative MQTT application", "routemq"};
    app.set_version_flag("--version", std::string(kVersion));
    std::string env_file = ".env";
    auto* env_opt =
        app.add_option("--env-file", env_file, "Settings file read before the environment")
            ->capture_default_str();
    int workers = -1;
    auto* workers_opt = app.add_option("--workers", workers,
                                       "Run shared routes in a supervised pool of worker processes "
                                       "(N overrides the plan)")
                            ->expected(0, 1)
                            ->check(CLI::Range(1, 1024));
    auto* routes_cmd = app.add_subcommand("routes", "Print the route table and exit");
    auto* settings_cmd =
        app.add_subcommand("settings", "Print every setting (markdown table) and exit");
    app.require_subcommand(0, 1);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? kExitOk : kExitConfig;
    }

    if (*settings_cmd) {
        std::cout << settings_markdown();
        return kExitOk;
    }
    settings s;
    router r;
    try {
        s = load(env_file, env_opt->count() > 0);
        routes(r);
    } catch (const error& e) {
        std::cerr << "routemq: " << e.what() << '\n';
        return kExitConfig;
    }
    if (*routes_cmd) {
        std::cout << format_route_table(r, s.mqtt_group_name);
        return kExitOk;
    }

    block_stop_signals();
    setup_logging("main", s.log_level, s.log_format);
    if (workers_opt->count() > 0) {
        spdlog::warn(
            "--workers: the worker pool is not part of this build yet; serving every "
            "route in this process");
    }
    try {
        return serve(s, r);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return kExitFailure;
    }
}

}  // namespace routemq
