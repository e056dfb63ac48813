#include "metrics/health.hpp"

#include <fmt/format.h>

#include "metrics/exposition.hpp"
#include "pod/protocol.hpp"

namespace routemq::detail {
readiness check_readiness(const pod_region& m) {
    readiness out;
    if (m.manager().stopping.load() != 0) {
        out.missing.push_back("shutting down");
    }
    for (std::size_t slot = 0; slot < m.processes(); ++slot) {
        const auto& p = m.process(slot);
        if (!counts_for_readiness(p.state.load())) {
            continue;
        }
        const auto name = process_name(slot);
        if (p.pid.load() == 0) {
            out.missing.push_back(name + ": not running");
        } else if (p.connected.load() == 0) {
            const auto why = p.connect_error.load();
            out.missing.push_back(name + ": not connected to the broker" +
                                  (why.empty() ? "" : " (" + why + ")"));
        } else if (p.subscribed.load() == 0) {
            out.missing.push_back(name + ": not subscribed");
        }
        if (p.work.route.load() != 0 && p.work.timeout_ms.load() > 0) {
            const auto work = m.work(slot);
            const auto elapsed = region_clock_ms() - work.started_ms;
            if (work.route != 0 && work.timeout_ms > 0 && elapsed > work.timeout_ms) {
                out.missing.push_back(
                    fmt::format("{}: handler stuck on topic '{}' for {} ms (timeout {} ms)", name,
                                work.topic, elapsed, work.timeout_ms));
            }
        }
    }
    out.ready = out.missing.empty();
    return out;
}

void heartbeat(const pod_region& m) noexcept {
    m.manager().heartbeat_ms.store(region_clock_ms());
}

bool alive(const pod_region& m, std::chrono::milliseconds max_silence) noexcept {
    // While stopping, the main thread waits for workers for up to SHUTDOWN_GRACE_SECONDS; a
    // liveness failure then would only cut the graceful stop short.
    return m.manager().stopping.load() != 0 ||
           region_clock_ms() - m.manager().heartbeat_ms.load() <= max_silence.count();
}

}  // namespace routemq::detail
