#include "routemq/cli.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>

#include "asyncapi/asyncapi.hpp"
#include "asyncapi/yaml.hpp"
#include "cli/dead_letters_command.hpp"
#include "cli/route_table.hpp"
#include "control/control.hpp"
#include "deploy/k8s_manifests.hpp"
#include "http/probe.hpp"
#include "logging.hpp"
#include "pod/pod_plan.hpp"
#include "routemq/client.hpp"
#include "routemq/errors.hpp"
#include "routemq/settings.hpp"
#include "routemq/version.hpp"
#include "runtime/run.hpp"
#include "runtime/signals.hpp"
#include "scaffold/scaffold.hpp"
#include "settings_table.hpp"

namespace routemq {
namespace {

/// The settings the application's name is the default of, under what `file` sets.
env_map with_name_defaults(env_map file, const std::string& name) {
    file.try_emplace("MQTT_CLIENT_ID", name);
    file.try_emplace("MQTT_GROUP_NAME", name);
    return file;
}

/// The variables of the settings table that are set, each as the environment has it, else as
/// `file` does: what load_settings reads besides the defaults.
env_map given_settings(const env_map& file) {
    const auto environment = read_process_environment();
    env_map given;
    for (const auto& variable : settings_table()) {
        const std::string name(variable.name);
        if (auto it = environment.find(name); it != environment.end()) {
            given[name] = it->second;
        } else if (auto in_file = file.find(name); in_file != file.end()) {
            given[name] = in_file->second;
        }
    }
    return given;
}

/// Settings from `env_file` (when given or present) and the environment; `file` gets what the
/// file held, for the startup warnings. `--pools` given: it overrides WORKER_POOLS.
settings load(const std::string& env_file, bool env_file_given, const std::string& name,
              env_map& file, const std::optional<std::string>& pools) {
    file = read_env_file_if_present(env_file, env_file_given);
    auto environment = read_process_environment();
    if (pools) {
        environment["WORKER_POOLS"] = *pools;
    }
    return load_settings(with_name_defaults(file, name), environment);
}

/// Runs a command that does one thing and exits: what it throws becomes one line on stderr and
/// its exit status (invalid settings or `routemq new` arguments 2, anything else 1).
template <class Body>
int one_shot(Body&& body) {
    try {
        return body();
    } catch (const config_error& e) {
        std::cerr << "routemq: " << e.what() << '\n';
        return code(exit_status::config);
    } catch (const detail::scaffold_usage_error& e) {
        std::cerr << "routemq: " << e.what() << '\n';
        return code(exit_status::config);
    } catch (const std::exception& e) {
        std::cerr << "routemq: " << e.what() << '\n';
        return code(exit_status::failure);
    }
}

/// `routemq ctl ...`: finds the manager by MQTT_CLIENT_ID and INSTANCE_NAME alone, so that it
/// still answers (and says why it refuses a reload) while other settings do not load.
int control_command(const std::string& env_file, bool env_file_given, const std::string& name,
                    const std::string& command, const std::vector<std::string>& args, bool json) {
    const std::size_t wanted = command == "scale" ? 2 : command == "recycle" ? 1 : 0;
    if (args.size() != wanted) {
        std::cerr << "routemq: ctl scale takes a route and a number of workers (e.g. scale "
                     "'jobs/{id}' 4), ctl recycle a worker (e.g. w3); workers and reload "
                     "nothing\n";
        return code(exit_status::config);
    }
    std::string target;
    for (const auto& arg : args) {
        target += (target.empty() ? "" : " ") + arg;
    }
    return one_shot([&] {
        const auto given = given_settings(read_env_file_if_present(env_file, env_file_given));
        const auto value = [&](const char* variable, const std::string& fallback) {
            const auto it = given.find(variable);
            return it != given.end() ? it->second : fallback;
        };
        mqtt_settings ids;
        ids.client_id = value("MQTT_CLIENT_ID", name);
        ids.instance_name = value("INSTANCE_NAME", "");
        const auto answer = detail::control_request(
            detail::control_socket_name(ids), target.empty() ? command : command + " " + target,
            std::chrono::seconds(5));
        if (const auto error = detail::control_error(answer); !error.empty()) {
            std::cerr << "routemq: " << error << '\n';
            return code(exit_status::failure);
        }
        if (json) {
            std::cout << answer << '\n';
        } else if (command == "workers") {
            std::cout << detail::format_workers_report(answer);
        } else if (command == "scale") {
            std::cout << "scaling " << args[0] << " to " << args[1]
                      << " workers; removed ones finish what they hold first\n";
        } else if (command == "recycle") {
            std::cout << "replacing " << target << "; the manager's log follows the handover\n";
        } else {
            std::cout << "reloading: every worker is replaced, one at a time\n";
        }
        return code(exit_status::ok);
    });
}

/// `routemq new controller|routes NAME`: writes the files, says what it did and what is next.
int scaffold(const std::string& dir, const std::string& what, const std::string& name,
             const std::string& controller, const std::string& pattern) {
    return one_shot([&] {
        const auto done = what == "controller" ? detail::new_controller(dir, name)
                                               : detail::new_routes(dir, name, controller, pattern);
        for (const auto& file : done.created) {
            std::cout << "created " << file << '\n';
        }
        for (const auto& file : done.changed) {
            std::cout << "changed " << file << '\n';
        }
        std::cout << (what == "controller"
                          ? fmt::format("next: `routemq new routes {0}` binds a pattern to "
                                        "app::{0}_controller::handle\n",
                                        name)
                          : "next: build again (CMake finds the new files), then `routemq routes` "
                            "lists the route\n");
        return code(exit_status::ok);
    });
}

/// The manifests `routemq new app` writes into k8s/: those of `deploy k8s` for the route the
/// new application starts with (routers/hello_routes.cpp as new_routes writes it) under the
/// default settings.
std::string first_manifests(const std::string& name) {
    router r;
    r.on(detail::default_pattern(detail::kFirstRoute), [](context&) {},
         {.qos = detail::kNewRouteQos});
    return detail::k8s_manifests(r, load_settings(with_name_defaults({}, name), {}), {},
                                 {.name = name, .image = name + ":0.1.0"});
}

/// `routemq new app DIR`: writes the application, says what it did and what is next.
int scaffold_app(const std::string& dir) {
    return one_shot([&] {
        const auto done = detail::new_app(dir, first_manifests);
        for (const auto& file : done.created) {
            std::cout << "created " << (std::filesystem::path(dir) / file).string() << '\n';
        }
        std::cout << fmt::format(
            "next: cd {} && make test (its tests), make run (it and a throwaway mosquitto), "
            "make routes (what it serves)\n",
            dir);
        return code(exit_status::ok);
    });
}

}  // namespace

int run_cli(int argc, char** argv, const route_registrar& routes, const cli_options& options) {
    CLI::App app{"RouteMQ: a route-declarative MQTT application", options.name};
    app.set_version_flag("--version", std::string(kVersion));
    std::string env_file = ".env";
    auto* env_opt =
        app.add_option("--env-file", env_file, "Settings file read before the environment")
            ->capture_default_str();
    int workers = 0;
    auto* workers_opt =
        app.add_option("--workers", workers,
                       "Serve shared routes from a supervised pool of worker processes; N runs N "
                       "workers that each serve every shared route (default: WORKER_COUNT, "
                       "0 = the plan)")
            ->expected(0, 1)
            ->check(CLI::Range(0, 1024));
    std::string pools;
    auto* pools_opt = app.add_option("--pools", pools,
                                     "Serve only the routes of these pools (comma-separated; "
                                     "default: WORKER_POOLS, empty = every pool)");
    detail::worker_invocation invocation;
    detail::worker_invocation::add_options(app, invocation);
    auto* routes_cmd =
        app.add_subcommand("routes", "Print the route table and the worker plan, then exit");
    auto* deploy_cmd = app.add_subcommand(
        "deploy", "Print deployment files for this application's route table and settings");
    deploy_cmd->require_subcommand(1);
    auto* deploy_k8s_cmd = deploy_cmd->add_subcommand(
        "k8s",
        "Kubernetes manifests (kubectl apply -f): a Deployment per pool sized from its plan, "
        "with its Service, PodDisruptionBudget and, for shared routes, HorizontalPodAutoscaler");
    std::string deploy_name;
    std::string deploy_image;
    deploy_k8s_cmd->add_option("--name", deploy_name,
                               "Names the objects (default: the application's name)");
    deploy_k8s_cmd->add_option("--image", deploy_image,
                               "The container image (default: NAME:latest)");
    auto* asyncapi_cmd = app.add_subcommand(
        "asyncapi",
        "Print the AsyncAPI 3.0 document of the routes (of --pools): channels, operations, "
        "MQTT bindings, replies; then exit");
    std::string asyncapi_format = "yaml";
    std::string asyncapi_title;
    std::string asyncapi_version(kVersion);
    asyncapi_cmd->add_option("--format", asyncapi_format, "yaml or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"yaml", "json"}));
    asyncapi_cmd->add_option("--title", asyncapi_title, "info.title (default: MQTT_CLIENT_ID)");
    asyncapi_cmd
        ->add_option("--api-version", asyncapi_version,
                     "info.version (default: the framework's version)")
        ->capture_default_str();
    auto* settings_cmd =
        app.add_subcommand("settings", "Print every setting (markdown table) and exit");
    auto* health_cmd = app.add_subcommand(
        "healthcheck",
        "Exit 0 if this machine's endpoint answers /healthz (or /readyz) with 200; for a "
        "container HEALTHCHECK");
    bool ready_probe = false;
    health_cmd->add_flag("--ready", ready_probe, "Probe /readyz instead of /healthz");
    auto* request_cmd = app.add_subcommand(
        "request",
        "Publish PAYLOAD to TOPIC as an MQTT 5 request; print its statuses (stderr) and its "
        "answer (stdout); exit 0 when done, 1 when failed or unanswered");
    std::string request_topic;
    std::string request_payload;
    double request_timeout = 30;
    request_cmd->add_option("topic", request_topic, "Topic to publish the request to")->required();
    request_cmd->add_option("payload", request_payload, "The request's payload")->required();
    request_cmd->add_option("--timeout", request_timeout, "Seconds to wait for the answer")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    auto* ctl_cmd = app.add_subcommand(
        "ctl",
        "Ask the manager of this host or pod (same MQTT_CLIENT_ID and INSTANCE_NAME): "
        "'workers' lists every worker process, its state and the message in hand");
    std::string ctl_command;
    std::vector<std::string> ctl_args;
    bool ctl_json = false;
    ctl_cmd->add_option("command", ctl_command, "workers, scale ROUTE N, recycle WORKER or reload")
        ->required()
        ->check(CLI::IsMember({"workers", "scale", "recycle", "reload"}));
    ctl_cmd->add_option("args", ctl_args,
                        "scale: the route (its pattern or name) and its workers; recycle: the "
                        "worker to replace, e.g. w3");
    ctl_cmd->add_flag("--json", ctl_json, "Print the manager's JSON answer as it is");
    auto* dead_letters_cmd = app.add_subcommand(
        "dead-letters",
        "The application's kept dead letters (DEAD_LETTER_MAX): list them, show one, replay "
        "them to their topics after a fix, or purge them");
    dead_letters_cmd->require_subcommand(1);
    detail::dead_letters_request dead;
    const auto reasons = CLI::IsMember({"failed", "payload", "poison"});
    auto* dead_list_cmd = dead_letters_cmd->add_subcommand(
        "list", "Newest first: id, when, route, reason, attempts, size, topic, error");
    dead_list_cmd->add_option("--route", dead.route, "Only this route's (its pattern)");
    dead_list_cmd->add_option("--reason", dead.reason, "Only failed, payload or poison")
        ->check(reasons);
    dead_list_cmd->add_flag("--json", dead.json, "One JSON array");
    auto* dead_show_cmd = dead_letters_cmd->add_subcommand(
        "show", "One dead letter: its facts, properties and payload");
    dead_show_cmd->add_option("id", dead.id, "As list prints it")->required();
    dead_show_cmd->add_flag("--json", dead.json, "As JSON");
    for (const auto* action : {"replay", "purge"}) {
        auto* sub = dead_letters_cmd->add_subcommand(
            action, std::string(action) == "replay"
                        ? "Publish again to the original topic with the original properties "
                          "(QoS 1, confirmed), then remove: ID, --route ROUTE or --all"
                        : "Remove without replaying: ID, --route ROUTE or --all");
        sub->add_option("id", dead.id, "As list prints it");
        sub->add_option("--route", dead.route, "Every one of this route (its pattern)");
        sub->add_option("--reason", dead.reason, "With --route or --all: only this reason")
            ->check(reasons);
        sub->add_flag("--all", dead.all, "Every kept dead letter");
    }
    for (auto* sub : dead_letters_cmd->get_subcommands({})) {
        sub->fallthrough();
    }
    auto* new_cmd = app.add_subcommand(
        "new",
        "Write a new application (new app DIR), or a controller or a route file into the "
        "application's source tree (at its root, "
        "where app/ and routers/ are, or --dir); never overwrites");
    new_cmd->require_subcommand(1);
    std::string new_dir = ".";
    std::string new_name;
    std::string new_controller;
    std::string new_pattern;
    new_cmd->add_option("--dir", new_dir, "The application's root")->capture_default_str();
    std::string new_app_dir;
    auto* new_app_cmd = new_cmd->add_subcommand(
        "app",
        "A new application in DIR (new or empty), named after it: CMakeLists.txt on the installed "
        "framework, main.cpp, app/, routers/, tests/, Makefile, Dockerfile, k8s/");
    new_app_cmd->add_option("dir", new_app_dir, "snake_case, e.g. door_bell")->required();
    auto* new_controller_cmd = new_cmd->add_subcommand(
        "controller", "app/controllers/NAME_controller.{hpp,cpp}: a class with a static handle");
    new_controller_cmd->add_option("name", new_name, "snake_case, e.g. door_bell")->required();
    auto* new_routes_cmd = new_cmd->add_subcommand(
        "routes",
        "routers/NAME_routes.{hpp,cpp} binding a pattern to a controller's handle, called from "
        "routers/routes.cpp");
    new_routes_cmd->add_option("name", new_name, "snake_case, e.g. door_bell")->required();
    new_routes_cmd->add_option("--controller", new_controller,
                               "The controller whose handle the route calls (default: NAME)");
    new_routes_cmd->add_option("--pattern", new_pattern,
                               "The route's pattern (default: NAME/{id})");
    for (auto* sub : new_cmd->get_subcommands({})) {
        sub->fallthrough();  // `routemq new controller x --dir app` as well
    }
    app.require_subcommand(0, 1);
    // `routemq routes --pools gpu` as well as `routemq --pools gpu routes`.
    for (auto* sub : app.get_subcommands({})) {
        sub->fallthrough();
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int shown = app.exit(e);
        return shown == 0 ? code(exit_status::ok) : code(exit_status::config);
    }

    if (*settings_cmd) {
        std::cout << settings_markdown();
        return code(exit_status::ok);
    }
    if (*new_app_cmd) {
        return scaffold_app(new_app_dir);
    }
    if (*new_cmd) {
        return scaffold(new_dir, *new_controller_cmd ? "controller" : "routes", new_name,
                        new_controller, new_pattern);
    }
    if (*ctl_cmd) {
        return control_command(env_file, env_opt->count() > 0, options.name, ctl_command, ctl_args,
                               ctl_json);
    }
    settings s;
    env_map file;
    router r;
    const bool is_worker = invocation.slot > 0;
    try {
        s = load(env_file, env_opt->count() > 0, options.name, file,
                 pools_opt->count() > 0 ? std::optional<std::string>(pools) : std::nullopt);
        routes(r);
        if (is_worker) {
            // The manager decided the plan and passes it on (--workers, --pools): the settings
            // file may have changed since (before a restart or a reload); the plan must not.
            invocation.worker_count = workers;
            invocation.pools = pools_opt->count() > 0 ? s.workers.pools : detail::pool_selection{};
        } else {
            // --workers without a value, or not given: WORKER_COUNT decides (0 = the plan).
            invocation.worker_count =
                workers_opt->count() > 0 && workers > 0 ? workers : s.workers.count;
            invocation.pools = s.workers.pools;
            invocation.scaling = {s.workers.autoscale_min, s.workers.autoscale_max};
        }
        detail::check_pools(r, invocation.pools);
    } catch (const error& e) {
        std::cerr << "routemq: " << e.what() << '\n';
        return code(exit_status::config);
    }
    if (*health_cmd) {
        std::string answer;
        const bool ok = detail::probe_endpoint(s, ready_probe ? "/readyz" : "/healthz", answer);
        (ok ? std::cout : std::cerr) << answer << '\n';
        return ok ? code(exit_status::ok) : code(exit_status::failure);
    }
    if (*dead_letters_cmd) {
        detail::setup_logging("dead-letters", "warn", s.logging.format);
        for (const auto* sub : dead_letters_cmd->get_subcommands({})) {
            if (*sub) {
                dead.action = sub->get_name();
            }
        }
        return one_shot([&] { return detail::dead_letters_command(s, r, dead); });
    }
    if (*request_cmd) {
        detail::setup_logging("request", "warn", s.logging.format);
        return one_shot([&] {
            // --timeout bounds the whole request, connecting included.
            const auto timeout =
                std::chrono::milliseconds(static_cast<std::int64_t>(request_timeout * 1000));
            const auto started = std::chrono::steady_clock::now();
            client caller(
                s,
                {.name = "request", .connect_timeout = timeout, .log = spdlog::default_logger()});
            const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started);
            const auto result = caller.request(
                request_topic, request_payload,
                std::max(std::chrono::milliseconds(1), timeout - spent),
                [](const request_status& st) {
                    std::cerr << st.status << (st.payload.empty() ? "" : " ") << st.payload << '\n';
                });
            if (!result.answered) {
                std::cerr << "routemq: no answer to the request on '" << request_topic
                          << "' within " << request_timeout << " s\n";
                return code(exit_status::failure);
            }
            std::cerr << result.status << '\n';
            std::cout << result.payload << '\n';
            return result.status == "done" ? code(exit_status::ok) : code(exit_status::failure);
        });
    }
    if (*asyncapi_cmd) {
        const auto doc = detail::asyncapi_document(
            r, s,
            {.title = asyncapi_title.empty() ? s.mqtt.client_id : asyncapi_title,
             .version = asyncapi_version,
             .pools = invocation.pools});
        std::cout << (asyncapi_format == "json"
                          ? doc.dump(2, ' ', false,
                                     nlohmann::ordered_json::error_handler_t::replace) +
                                '\n'
                          : detail::to_yaml(doc));
        return code(exit_status::ok);
    }
    if (*deploy_k8s_cmd) {
        try {
            const auto name = deploy_name.empty() ? options.name : deploy_name;
            std::cout << detail::k8s_manifests(
                r, s, invocation.scaling,
                {.name = name,
                 .image = deploy_image.empty() ? name + ":latest" : deploy_image,
                 .explicit_settings = given_settings(file)});
            return code(exit_status::ok);
        } catch (const error& e) {
            std::cerr << "routemq: " << e.what() << '\n';
            return code(exit_status::config);
        }
    }
    if (*routes_cmd) {
        std::cout << detail::format_route_table(r, s.mqtt.group_name, invocation.pools,
                                                invocation.scaling)
                  << '\n'
                  << detail::format_pod_plan(
                         r, detail::plan_pod(r, invocation.worker_count, invocation.pools,
                                             invocation.scaling));
        return code(exit_status::ok);
    }

    detail::block_stop_signals();
    detail::setup_logging(detail::process_name(static_cast<std::size_t>(invocation.slot)),
                          s.logging.level, s.logging.format);
    if (!is_worker) {  // workers read the same settings: one warning per pod is enough
        for (const auto& line : settings_warnings(file, env_file, s)) {
            spdlog::warn("{}", line);
        }
    }
    auto role = detail::role::single;
    if (is_worker) {
        role = detail::role::worker;
    } else if (workers_opt->count() > 0) {
        role = detail::role::manager;
        invocation.executable = std::filesystem::read_symlink("/proc/self/exe").string();
        if (env_opt->count() > 0) {
            invocation.env_file = std::filesystem::absolute(env_file).string();
        }
    }
    try {
        return detail::run(role, s, r, invocation);
    } catch (const config_error& e) {
        spdlog::critical("{}", e.what());
        return code(exit_status::config);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return code(exit_status::failure);
    }
}

}  // namespace routemq
