#include "http/health_server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "delivery/publish_check.hpp"
#include "metrics/exposition.hpp"
#include "metrics/health.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

/// The main loop turns every 100 ms to 1 s; this much silence means it is stuck.
constexpr auto kMaxLoopSilence = std::chrono::seconds(15);
/// Probes and scrapes are few and quick; each connection answers one request and closes, so a
/// scraper's idle keep-alive connection never holds a thread a probe needs.
constexpr std::size_t kHttpThreads = 4;
/// The largest request body taken (the dashboard's actions send a few bytes of JSON).
constexpr std::size_t kMaxRequestBody = 64 * 1024;

constexpr const char* kJson = "application/json";

void answer(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void refuse(httplib::Response& res, int status, const std::string& why) {
    answer(res, status, {{"error", why}});
}

/// The command an action's request asks for, or the reason it is refused (in `why`). Everything
/// a client sent is checked here, before anything acts on it.
std::string action_command(const httplib::Request& req, std::string& why) {
    const auto& action = req.matches[1].str();
    nlohmann::json body = nlohmann::json::object();
    if (!req.body.empty()) {
        body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            why = "the body must be a JSON object";
            return "";
        }
    }
    if (action == "reload") {
        return "reload";
    }
    if (action == "recycle") {
        const auto process = body.contains("process") && body["process"].is_string()
                                 ? body["process"].get<std::string>()
                                 : std::string();
        if (process.size() < 2 || process.size() > 8 || process[0] != 'w' ||
            process.find_first_not_of("0123456789", 1) != std::string::npos) {
            why = "recycle takes {\"process\": \"w<N>\"}";
            return "";
        }
        return "recycle " + process;
    }
    // scale
    const auto& route = body.contains("route") && body["route"].is_string()
                            ? body["route"].get_ref<const std::string&>()
                            : std::string();
    if (route.empty() || route.size() > 1024 || !body.contains("workers") ||
        !body["workers"].is_number_integer() || body["workers"].get<long long>() < 0 ||
        body["workers"].get<long long>() > 1000) {
        why = "scale takes {\"route\": \"<pattern>\", \"workers\": <0-1000>}";
        return "";
    }
    return fmt::format("scale {} {}", route, body["workers"].get<long long>());
}

/// `/` and `/api/...`: the page and its data for everyone who reaches the port; actions only for
/// a request whose X-RouteMQ-Token header is the token. A browser sends no such header to
/// another origin without asking first (CORS), and nothing here answers that, so another site's
/// page cannot act through a logged-in operator's browser.
void serve_dashboard(httplib::Server& srv, std::shared_ptr<const dashboard_backend> d) {
    srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_header("Content-Security-Policy",
                       "default-src 'none'; script-src 'unsafe-inline'; style-src "
                       "'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; "
                       "form-action 'none'; frame-ancestors 'none'");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Referrer-Policy", "no-referrer");
        res.set_header("Cache-Control", "no-store");
        const auto page = dashboard_page();
        res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
    });
    srv.Get("/api/pod",
            [d](const httplib::Request&, httplib::Response& res) { answer(res, 200, d->pod()); });
    srv.Get("/api/dead-letters", [d](const httplib::Request& req, httplib::Response& res) {
        const auto reason = req.get_param_value("reason");
        if (!reason.empty() && reason != "failed" && reason != "payload" && reason != "poison") {
            return refuse(res, 400, "reason is failed, payload or poison");
        }
        answer(res, 200,
               d->dead_letters({.route = req.get_param_value("route"),
                                .reason = req.get_param_value("reason")}));
    });
    srv.Get(R"(/api/dead-letters/([^/]+))",
            [d](const httplib::Request& req, httplib::Response& res) {
                const auto id = req.matches[1].str();
                if (!is_dead_letter_id(id)) {
                    return refuse(res, 400, "not a dead letter's id");
                }
                std::optional<nlohmann::json> found;
                try {
                    found = d->dead_letter(id);
                } catch (const std::exception& e) {
                    return refuse(res, 503, e.what());  // the broker did not answer, or busy
                }
                if (!found) {
                    return refuse(res, 404, fmt::format("dead letter {} is not kept", id));
                }
                answer(res, 200, *found);
            });
    const auto reply = [](const action_answer& a, httplib::Response& res) {
        if (a.ok) {
            answer(res, 200, {{"ok", true}, {"message", a.text}});
        } else {
            refuse(res, 409, a.text);
        }
    };
    const auto allowed = [d](const httplib::Request& req, httplib::Response& res) {
        if (d->token.empty()) {
            refuse(res, 403, "actions are off: this pod has no DASHBOARD_TOKEN");
            return false;
        }
        if (!token_matches(d->token, req.get_header_value("X-RouteMQ-Token"))) {
            spdlog::warn("dashboard: refused {} {} from {}: wrong or missing token", req.method,
                         printable_topic(req.path), req.remote_addr);
            refuse(res, 403, "refused: the X-RouteMQ-Token header is missing or wrong");
            return false;
        }
        return true;
    };
    srv.Post(R"(/api/dead-letters/([^/]+)/(replay|purge))",
             [d, reply, allowed](const httplib::Request& req, httplib::Response& res) {
                 if (!allowed(req, res)) {
                     return;
                 }
                 const auto id = req.matches[1].str();
                 if (!is_dead_letter_id(id)) {
                     return refuse(res, 400, "not a dead letter's id");
                 }
                 reply(req.matches[2].str() == "replay" ? d->replay(id) : d->purge(id), res);
             });
    srv.Post(R"(/api/(scale|recycle|reload))",
             [d, reply, allowed](const httplib::Request& req, httplib::Response& res) {
                 if (!allowed(req, res)) {
                     return;
                 }
                 std::string why;
                 const auto command = action_command(req, why);
                 if (command.empty()) {
                     return refuse(res, 400, why);
                 }
                 reply(d->ctl(command), res);
             });
}

}  // namespace

struct health_server::impl {
    httplib::Server server;
    std::thread thread;
};

health_server::health_server(const std::string& host, int port,
                             std::shared_ptr<const pod_region> metrics,
                             std::vector<std::string> route_labels,
                             std::shared_ptr<const dashboard_backend> dashboard)
    : impl_(std::make_unique<impl>()) {
    auto& srv = impl_->server;
    srv.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
    srv.set_keep_alive_max_count(1);
    srv.set_read_timeout(2, 0);
    // httplib also sets SO_REUSEPORT, which lets a second process share a busy port silently
    // (and answer half the probes); a taken port must be an error instead.
    srv.set_socket_options([](int sock) {
        const int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    srv.Get("/healthz", [metrics](const httplib::Request&, httplib::Response& res) {
        const bool ok = alive(*metrics, kMaxLoopSilence);
        res.status = ok ? 200 : 503;
        res.set_content(ok ? R"({"status":"alive"})" : R"({"status":"main loop stalled"})",
                        "application/json");
    });
    srv.Get("/readyz", [metrics](const httplib::Request&, httplib::Response& res) {
        const auto r = check_readiness(*metrics);
        res.status = r.ready ? 200 : 503;
        res.set_content(nlohmann::json{{"ready", r.ready}, {"missing", r.missing}}.dump(),
                        "application/json");
    });
    srv.Get("/metrics", [metrics, labels = std::move(route_labels)](const httplib::Request&,
                                                                    httplib::Response& res) {
        res.set_content(render_prometheus(*metrics, labels), kPrometheusContentType);
    });
    srv.set_payload_max_length(kMaxRequestBody);
    if (dashboard) {
        serve_dashboard(srv, dashboard);
    }
    srv.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown exception";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            spdlog::error("http: {} {} failed: {}", req.method, req.path, what);
            res.status = 500;
            res.set_content("internal error\n", "text/plain");
        });
    errno = 0;
    if (!srv.bind_to_port(host, port)) {
        throw error(fmt::format("cannot listen on HTTP_HOST='{}' HTTP_PORT='{}': {}", host, port,
                                errno != 0 ? std::strerror(errno) : "address not available"));
    }
    impl_->thread = std::thread([&srv] { srv.listen_after_bind(); });
    // Server::stop() does nothing until the server runs; without this wait, a destructor right
    // after construction (startup failing just after) would join a thread that never stops.
    for (int i = 0; i < 2000 && !srv.is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    spdlog::info("http: /healthz, /readyz and /metrics{} on {}:{}",
                 !dashboard                 ? ""
                 : dashboard->token.empty() ? ", and the dashboard at / (read-only)"
                                            : ", and the dashboard at / (actions on)",
                 host, port);
}

health_server::~health_server() {
    impl_->server.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

}  // namespace routemq::detail
