#include "http/health_server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

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

}  // namespace

struct health_server::impl {
    httplib::Server server;
    std::thread thread;
};

health_server::health_server(const std::string& host, int port,
                             std::shared_ptr<const pod_region> metrics,
                             std::vector<std::string> route_labels)
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
    spdlog::info("http: /healthz, /readyz and /metrics on {}:{}", host, port);
}

health_server::~health_server() {
    impl_->server.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

}  // namespace routemq::detail
