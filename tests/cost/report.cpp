// Prints the cost gate's figures as markdown for docs/benchmarks/results.md: per path, the
// instructions and heap allocations per message on a worker's hot path, its committed budget,
// and the same counts for bench/e2e's hand-written Paho C workers.
// Usage: routemq_cost_report <baseline_worker> <baseline_confirmed_worker>

#include <fmt/format.h>

#include <iostream>

#include "measure.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: routemq_cost_report <baseline_worker> <baseline_confirmed_worker>\n";
        return 2;
    }
    const auto budget = cost::read_budget(COST_BUDGET);
    std::map<std::string, cost::figures> framework;
    std::cout << "| Path | Instructions per message | Allocations per message | Budget "
                 "(instructions / allocations) |\n|---|---|---|---|\n";
    for (const auto& p : cost::paths()) {
        const auto f = cost::measure(cost::routemq_app(COST_APP), p);
        framework[p.name] = f;
        const auto& b = budget.at(p.name);
        std::cout << fmt::format("| `{}`: {} | {:.0f} | {:.1f} | {:.0f} / {:.1f} |\n", p.name,
                                 p.description, f.instructions, f.allocations, b.instructions,
                                 b.allocations);
    }
    const auto confirmed =
        cost::measure(cost::hand_written(argv[2], 1), cost::hand_written_path(1));
    const auto unconfirmed =
        cost::measure(cost::hand_written(argv[1], 1), cost::hand_written_path(1));
    const auto qos0 = cost::measure(cost::hand_written(argv[1], 0), cost::hand_written_path(0));
    std::cout << "\n| Hand-written Paho C worker | Instructions per message | Allocations per "
                 "message | RouteMQ's path over it (instructions / allocations) |\n"
                 "|---|---|---|---|\n";
    const auto row = [&](const char* name, const cost::figures& f, const std::string& path) {
        const auto& ours = framework.at(path);
        std::cout << fmt::format("| {} | {:.0f} | {:.1f} | `{}`: {:.2f} / {:.2f} |\n", name,
                                 f.instructions, f.allocations, path,
                                 ours.instructions / f.instructions,
                                 ours.allocations / f.allocations);
    };
    row("`baseline_confirmed_worker`, QoS 1 (the same guarantee)", confirmed, "qos1");
    row("`baseline_worker`, QoS 1 (result not confirmed)", unconfirmed, "qos1");
    row("`baseline_worker`, QoS 0", qos0, "qos0");
    return 0;
}
