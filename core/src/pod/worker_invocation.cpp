#include "pod/worker_invocation.hpp"

#include <CLI/CLI.hpp>

#include "pod/protocol.hpp"

namespace routemq::detail {
namespace {
constexpr const char* kSlotOption = "--worker-slot";
constexpr const char* kMetricsFdOption = "--metrics-fd";
constexpr const char* kHoldFdOption = "--hold-fd";
constexpr const char* kMinWorkersOption = "--autoscale-min";
constexpr const char* kMaxWorkersOption = "--autoscale-max";
}  // namespace

std::vector<std::string> worker_invocation::argv(int worker_slot, bool held) const {
    std::vector<std::string> out{executable};
    if (!env_file.empty()) {
        out.insert(out.end(), {"--env-file", env_file});
    }
    if (!pools.empty()) {
        std::string joined;
        for (const auto& pool : pools) {
            joined += (joined.empty() ? "" : ",") + pool;
        }
        out.insert(out.end(), {"--pools", joined});
    }
    out.insert(out.end(), {"--workers", std::to_string(worker_count), kSlotOption,
                           std::to_string(worker_slot), kMetricsFdOption, std::to_string(kRegionFd),
                           kMinWorkersOption, std::to_string(scaling.min_workers),
                           kMaxWorkersOption, std::to_string(scaling.max_workers)});
    if (held) {
        out.insert(out.end(), {kHoldFdOption, std::to_string(kHandoverFd)});
    }
    return out;
}

void worker_invocation::add_options(CLI::App& app, worker_invocation& into) {
    auto* slot = app.add_option(kSlotOption, into.slot)->group("")->check(CLI::Range(1, 65536));
    app.add_option(kMetricsFdOption, into.metrics_fd)
        ->group("")
        ->needs(slot)
        ->check(CLI::NonNegativeNumber);
    app.add_option(kMinWorkersOption, into.scaling.min_workers)
        ->group("")
        ->needs(slot)
        ->check(CLI::Range(1, 256));
    app.add_option(kMaxWorkersOption, into.scaling.max_workers)
        ->group("")
        ->needs(slot)
        ->check(CLI::Range(0, 256));
    app.add_option(kHoldFdOption, into.hold_fd)
        ->group("")
        ->needs(slot)
        ->check(CLI::NonNegativeNumber);
}

}  // namespace routemq::detail
