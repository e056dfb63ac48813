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
    if (shared.empty()) {
        return plan;
    }
    if (worker_count > 0) {
        for (int slot = 1; slot <= worker_count; ++slot) {
            plan.push_back({slot, shared});
        }
        return plan;
    }
    int slot = 1;
    for (auto index : shared) {
        for (int n = 0; n < r.routes()[index].options.worker_count; ++n) {
            plan.push_back({slot++, {index}});
        }
    }
    return plan;
}

std::vector<std::size_t> main_process_routes(const router& r) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        if (!r.routes()[i].options.shared) {
            out.push_back(i);
        }
    }
    return out;
}

std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan) {
    std::string out = fmt::format("WORKERS ({} with --workers)\n", plan.size());
    if (plan.empty()) {
        return out + "  none: no shared routes\n";
    }
    for (const auto& w : plan) {
        out += fmt::format("  {:<6} {}\n", fmt::format("w{}", w.slot), pattern_list(r, w.routes));
    }
    const auto names = pattern_list(r, main_process_routes(r));
    out += fmt::format("  {:<6} {}\n", "main", names.empty() ? "(no routes)" : names);
    return out;
}

}  // namespace routemq::detail
