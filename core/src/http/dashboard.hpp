#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letters/dead_letter.hpp"
#include "pod/pod_plan.hpp"
#include "pod/pod_region.hpp"
#include "routemq/router.hpp"

namespace routemq::detail {

// The dashboard: one page (http/dashboard.html, compiled in) served at `/` on the HTTP port, and
// the JSON it reads under `/api/` (docs/dashboard.md). What it shows is read from the pod region
// and the plan, as /metrics is; the functions here make that JSON and decide nothing else.

/// What does not change while the pod runs: names, the plan's processes and routes.
struct dashboard_model {
    struct process {
        std::size_t slot = 0;
        std::string name;
        /// Its worker's number and its lane's priority; 0 and empty for the single process.
        int worker = 0;
        std::string lane;
        std::vector<std::size_t> routes;
    };
    struct route {
        std::string pattern;
        bool shared = false;
        int qos = 0;
        int min_workers = 1;
        int max_workers = 1;
    };
    std::string app;
    std::string instance;
    /// `workers` (a manager and its worker processes) or `single`.
    std::string mode;
    std::vector<process> processes;
    std::vector<route> routes;
    /// What `routemq routes` prints.
    std::string route_table;
    /// DASHBOARD_TOKEN is set: the page offers replay, purge, scale, recycle and reload.
    bool actions = false;
    std::size_t dead_letter_max = 0;
};

/// The model of a manager's pod (its plan) or of the single process (`served` routes, slot 0).
dashboard_model model_of_pod(const router& r, const pod_plan& plan, const scaling_defaults& s);
dashboard_model model_of_single(const router& r, const std::vector<std::size_t>& served);

/// `GET /api/pod`: processes (pid, state, handled, busy, the message in hand and its age,
/// restarts, RSS), routes (rates, handler time p50/p99, busy, workers, retries, dead letters),
/// the history of every route, the dead-letter store's counts and the route table.
/// `rss_kib` reads a process's resident memory (0: gone).
nlohmann::json pod_json(const dashboard_model& m, const pod_region& region,
                        std::int64_t now_unix_ms,
                        const std::function<std::uint64_t(pid_t)>& rss_kib);

/// The `q` quantile (0-1) of a histogram kept as runs per bucket (kDurationBuckets, the last
/// beyond every bound), in milliseconds, interpolated within its bucket as Prometheus's
/// histogram_quantile does; 0 without runs.
double quantile_ms(const std::array<std::uint64_t, kDurationBuckets.size() + 1>& runs, double q);

/// Appends a sample of every route to the region's history rings each kHistoryInterval: runs
/// and successful runs per second, and the busy ratio. The manager's autoscaler measures busy
/// ratios; a single process measures its own (`measure_busy`).
class history_recorder {
public:
    explicit history_recorder(bool measure_busy) : measure_busy_(measure_busy) {}
    void tick(const pod_region& region, std::chrono::steady_clock::time_point now);

private:
    struct totals {
        std::uint64_t runs = 0;
        std::uint64_t handled = 0;
        std::uint64_t busy_ns = 0;
    };
    bool measure_busy_;
    std::optional<std::chrono::steady_clock::time_point> last_;
    std::vector<totals> before_;
};

/// Whether `given` is the dashboard's token. False when no token is set; the time taken does not
/// depend on where the two differ (both are hashed, and the digests compared in constant time).
bool token_matches(std::string_view expected, std::string_view given) noexcept;

/// What an action answers: done (with a sentence) or refused (with the reason).
struct action_answer {
    bool ok = false;
    std::string text;
};

/// What the HTTP endpoint serves the dashboard from: each call reads the pod (or the
/// dead-letter store) anew. The actions are called already checked against the token: `replay`
/// and `purge` with a dead letter's id, `ctl` with a `routemq ctl` command (`scale ROUTE N`,
/// `recycle wN` or `reload`).
struct dashboard_backend {
    std::string token;
    std::function<nlohmann::json()> pod;
    std::function<nlohmann::json(const dead_letter_filter&)> dead_letters;
    std::function<std::optional<nlohmann::json>(const std::string& id)> dead_letter;
    std::function<action_answer(const std::string& id)> replay;
    std::function<action_answer(const std::string& id)> purge;
    std::function<action_answer(const std::string& command)> ctl;
};

/// The page, as compiled in.
std::string_view dashboard_page() noexcept;

}  // namespace routemq::detail
