#include "runtime/worker_plan.hpp"

#include <fmt/format.h>

namespace routemq::detail {
namespace {

/// The patterns of `indexes`, comma-separated.
std::string pattern_list(const router& r, const std::vector<std::size_t>& indexes) {
    std::string out;
    for (auto index : indexes) {
        out += (out.empty() ? "" : ", ") + r.routes()[index].pattern.text();
    }
    return out;
}

}  // namespace

std::vector<worker_spec> plan_workers(const router& r, int worker_count) {
    std::vector<std::size_t> shared;
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        if (r.routes()[i].options.shared) {
            shared.push_back(i);
        }
    }
    std::vector<worker_spec> plan;
    int slot = 1;
    if (!shared.empty() && worker_count > 0) {
        for (; slot <= worker_count; ++slot) {
            plan.push_back({slot, shared});
        }
    } else {
        for (auto index : shared) {
            for (int n = 0; n < r.routes()[index].options.worker_count; ++n) {
                plan.push_back({slot++, {index}});
            }
        }
    }
    if (auto unshared = unshared_routes(r); !unshared.empty()) {
        plan.push_back({slot, std::move(unshared)});
    }
    return plan;
}

std::vector<std::size_t> unshared_routes(const router& r) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        if (!r.routes()[i].options.shared) {
            out.push_back(i);
        }
    }
    return out;
}

std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan) {
    std::string out =
        fmt::format("WORKERS ({} with --workers; the manager runs no routes)\n", plan.size());
    if (plan.empty()) {
        return out + "  none: no routes\n";
    }
    for (const auto& w : plan) {
        const bool shared = r.routes()[w.routes.front()].options.shared;
        out += fmt::format("  {:<6} {}{}\n", fmt::format("w{}", w.slot), pattern_list(r, w.routes),
                           shared ? "" : "  (not shared)");
    }
    return out;
}

}  // namespace routemq::detail
