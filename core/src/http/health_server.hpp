#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/dashboard.hpp"
#include "pod/pod_region.hpp"

namespace routemq::detail {

/// The main process's HTTP endpoint, on its own threads:
/// `GET /healthz` 200 while the manager's main loop turns (503 if it stalls),
/// `GET /readyz` 200 when check_readiness says so, else 503 with `{"ready":false,"missing":[..]}`,
/// `GET /metrics` the Prometheus text of the whole pod; with a dashboard, `GET /` its page and
/// `/api/...` its JSON and actions (docs/dashboard.md).
class health_server {
public:
    /// Listens on host:port at once; throws routemq::error naming HTTP_HOST/HTTP_PORT if it cannot.
    health_server(const std::string& host, int port, std::shared_ptr<const pod_region> metrics,
                  std::vector<std::string> route_labels,
                  std::shared_ptr<const dashboard_backend> dashboard = nullptr);
    ~health_server();
    health_server(const health_server&) = delete;
    health_server& operator=(const health_server&) = delete;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq::detail
