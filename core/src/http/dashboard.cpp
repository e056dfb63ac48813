#include "http/dashboard.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>

#include "pod/protocol.hpp"

namespace routemq::detail {
namespace {

double rounded(double value, double step) {
    return std::round(value / step) * step;
}

}  // namespace

dashboard_model model_of_pod(const router& r, const pod_plan& plan, const scaling_defaults& s) {
    dashboard_model m;
    m.mode = "workers";
    for (const auto& w : plan.workers) {
        for (const auto& lane : w.lanes) {
            for (const auto& p : lane.processes) {
                m.processes.push_back(
                    {.slot = static_cast<std::size_t>(p.slot),
                     .name = process_name(static_cast<std::size_t>(p.slot)),
                     .worker = w.number,
                     .lane = w.lanes.size() > 1 ? routemq::priority_name(lane.priority) : "",
                     .routes = p.routes});
            }
        }
    }
    for (const auto& rt : r.routes()) {
        const auto range = route_workers(rt.options, s);
        m.routes.push_back({.pattern = rt.pattern.text(),
                            .shared = rt.options.shared,
                            .qos = rt.options.qos,
                            .min_workers = range.min,
                            .max_workers = range.max});
    }
    return m;
}

dashboard_model model_of_single(const router& r, const std::vector<std::size_t>& served) {
    dashboard_model m;
    m.mode = "single";
    m.processes.push_back(
        {.slot = 0, .name = process_name(0), .worker = 0, .lane = "", .routes = served});
    for (const auto& rt : r.routes()) {
        m.routes.push_back({.pattern = rt.pattern.text(),
                            .shared = rt.options.shared,
                            .qos = rt.options.qos,
                            .min_workers = 1,
                            .max_workers = 1});
    }
    return m;
}

double quantile_ms(const std::array<std::uint64_t, kDurationBuckets.size() + 1>& runs, double q) {
    std::uint64_t total = 0;
    for (const auto n : runs) {
        total += n;
    }
    if (total == 0) {
        return 0;
    }
    const double rank = q * static_cast<double>(total);
    std::uint64_t below = 0;
    for (std::size_t b = 0; b < runs.size(); ++b) {
        if (static_cast<double>(below + runs[b]) >= rank && runs[b] > 0) {
            if (b == kDurationBuckets.size()) {
                return kDurationBuckets.back() * 1000;  // beyond the last bound: its bound
            }
            const double lower = b == 0 ? 0 : kDurationBuckets[b - 1];
            const double upper = kDurationBuckets[b];
            const double within =
                (rank - static_cast<double>(below)) / static_cast<double>(runs[b]);
            return (lower + (upper - lower) * within) * 1000;
        }
        below += runs[b];
    }
    return kDurationBuckets.back() * 1000;
}

nlohmann::json pod_json(const dashboard_model& m, const pod_region& region,
                        std::int64_t now_unix_ms,
                        const std::function<std::uint64_t(pid_t)>& rss_kib) {
    const auto& pod = region.manager();
    const auto clock_ms = region_clock_ms();
    auto processes = nlohmann::json::array();
    for (const auto& p : m.processes) {
        const auto& cells = region.process(p.slot);
        const auto pid = cells.pid.load();
        const auto work = region.work(p.slot);
        nlohmann::json message = nullptr;
        if (work.route > 0 && work.route <= m.routes.size()) {
            message = {{"route", m.routes[work.route - 1].pattern},
                       {"topic", work.topic},
                       {"age_ms", std::max<std::int64_t>(0, clock_ms - work.started_ms)}};
        }
        auto routes = nlohmann::json::array();
        for (const auto route : p.routes) {
            routes.push_back(m.routes.at(route).pattern);
        }
        processes.push_back({{"process", p.name},
                             {"worker", p.worker},
                             {"lane", p.lane},
                             {"routes", routes},
                             {"pid", pid},
                             {"state", state_name(cells.state.load())},
                             {"connected", cells.connected.load() != 0},
                             {"handled", region.handled(p.slot)},
                             {"busy_percent", rounded(cells.busy_ppm.load() / 1e4, 0.1)},
                             {"restarts", cells.restarts.load()},
                             {"rss_kb", pid > 0 ? rss_kib(pid) : 0},
                             {"message", message}});
    }
    const auto written = pod.history_written.load();
    const auto samples = std::min<std::uint64_t>(written, kHistorySamples);
    auto routes = nlohmann::json::array();
    auto history = nlohmann::json::array();
    for (std::size_t route = 0; route < m.routes.size() && route < region.routes(); ++route) {
        const auto& rt = m.routes[route];
        const auto& scaling = region.scaling(route);
        const auto sums = region.sum_route(route);
        auto in = nlohmann::json::array();
        auto out = nlohmann::json::array();
        auto busy = nlohmann::json::array();
        for (auto i = written - samples; i < written; ++i) {
            const auto& sample = scaling.history[i % kHistorySamples];
            in.push_back(rounded(sample.runs_milli_per_s.load() / 1e3, 0.01));
            out.push_back(rounded(sample.handled_milli_per_s.load() / 1e3, 0.01));
            busy.push_back(rounded(sample.busy_ppm.load() / 1e4, 0.1));
        }
        const bool single = m.mode == "single";
        routes.push_back(
            {{"route", rt.pattern},
             {"shared", rt.shared},
             {"qos", rt.qos},
             {"in_per_s", in.empty() ? 0.0 : in.back().get<double>()},
             {"out_per_s", out.empty() ? 0.0 : out.back().get<double>()},
             {"p50_ms", rounded(quantile_ms(sums.buckets, 0.5), 0.001)},
             {"p99_ms", rounded(quantile_ms(sums.buckets, 0.99), 0.001)},
             {"busy_percent", rounded(scaling.busy_ppm.load() / 1e4, 0.1)},
             {"workers", single ? 1 : scaling.workers.load()},
             {"min_workers", rt.min_workers},
             {"max_workers", rt.max_workers},
             {"runs", sums.runs()},
             {"handled", sums.handled},
             {"retries", sums.retries},
             {"dead_letters", sums.dead_letters[0] + sums.dead_letters[1] + sums.dead_letters[2]},
             {"timeouts", sums.timeouts}});
        history.push_back(
            {{"route", rt.pattern}, {"in_per_s", in}, {"out_per_s", out}, {"busy_percent", busy}});
    }
    return {{"app", m.app},
            {"instance", m.instance},
            {"mode", m.mode},
            {"now_ms", now_unix_ms},
            {"started_ms", pod.started_unix_ms.load()},
            {"actions", m.actions},
            {"processes", processes},
            {"routes", routes},
            {"history",
             {{"interval_s", kHistoryInterval.count()},
              {"samples", kHistorySamples},
              {"routes", history}}},
            {"dead_letters",
             {{"kept", pod.dead_letters_kept.load()},
              {"max", m.dead_letter_max},
              {"evicted", pod.dead_letters_evicted.load()},
              {"available", pod.dead_letters_loaded.load() != 0}}},
            {"route_table", m.route_table}};
}

void history_recorder::tick(const pod_region& region, std::chrono::steady_clock::time_point now) {
    if (last_ && now - *last_ < kHistoryInterval) {
        return;
    }
    std::vector<totals> current(region.routes());
    for (std::size_t route = 0; route < current.size(); ++route) {
        const auto s = region.sum_route(route);
        current[route] = {.runs = s.runs(), .handled = s.handled, .busy_ns = s.sum_ns};
    }
    if (last_) {
        const double seconds = std::chrono::duration<double>(now - *last_).count();
        auto& pod = region.manager();
        const auto at = pod.history_written.load() % kHistorySamples;
        for (std::size_t route = 0; route < current.size(); ++route) {
            const auto& was = before_[route];
            const auto& is = current[route];
            auto& scaling = region.scaling(route);
            if (measure_busy_) {  // one process: its time in the route's handlers over wall time
                const double busy =
                    std::min(1.0, static_cast<double>(is.busy_ns - was.busy_ns) / (seconds * 1e9));
                scaling.busy_ppm.store(static_cast<std::uint32_t>(busy * 1e6));
            }
            auto& sample = scaling.history[at];
            sample.runs_milli_per_s.store(static_cast<std::uint32_t>(
                static_cast<double>(is.runs - was.runs) / seconds * 1e3));
            sample.handled_milli_per_s.store(static_cast<std::uint32_t>(
                static_cast<double>(is.handled - was.handled) / seconds * 1e3));
            sample.busy_ppm.store(scaling.busy_ppm.load());
        }
        if (measure_busy_) {
            std::uint64_t busy_ns = 0;
            for (std::size_t route = 0; route < current.size(); ++route) {
                busy_ns += current[route].busy_ns - before_[route].busy_ns;
            }
            region.process(0).busy_ppm.store(static_cast<std::uint32_t>(
                std::min(1.0, static_cast<double>(busy_ns) / (seconds * 1e9)) * 1e6));
        }
        pod.history_written.fetch_add(1);
    }
    last_ = now;
    before_ = std::move(current);
}

bool token_matches(std::string_view expected, std::string_view given) noexcept {
    if (expected.empty()) {
        return false;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> a{};
    std::array<unsigned char, EVP_MAX_MD_SIZE> b{};
    unsigned int a_size = 0;
    unsigned int b_size = 0;
    if (EVP_Digest(expected.data(), expected.size(), a.data(), &a_size, EVP_sha256(), nullptr) !=
            1 ||
        EVP_Digest(given.data(), given.size(), b.data(), &b_size, EVP_sha256(), nullptr) != 1) {
        return false;
    }
    return a_size == b_size && CRYPTO_memcmp(a.data(), b.data(), a_size) == 0;
}

}  // namespace routemq::detail
