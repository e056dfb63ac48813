// The cost gate (tests/cost/README.md): every path through a worker costs at most its committed
// budget of instructions and heap allocations per message, counted by callgrind.

#include <gtest/gtest.h>

#include <iostream>

#include "measure.hpp"

namespace cost {
/// Names a path in gtest's output.
void PrintTo(const path& p, std::ostream* os) {
    *os << p.name;
}
}  // namespace cost

namespace {

class cost_gate : public ::testing::TestWithParam<cost::path> {};

TEST_P(cost_gate, StaysWithinItsBudget) {
    const auto& p = GetParam();
    const auto budget = cost::read_budget(COST_BUDGET);
    ASSERT_EQ(budget.count(p.name), 1u) << "no budget for path " << p.name << " in " << COST_BUDGET;
    const auto measured = cost::measure(cost::routemq_app(COST_APP), p);
    std::cout << p.name << ": " << measured.instructions << " instructions and "
              << measured.allocations << " allocations per message (budget "
              << budget.at(p.name).instructions << " and " << budget.at(p.name).allocations
              << ")\n";
    EXPECT_EQ(cost::over_budget(measured, budget.at(p.name)), "")
        << "The hot path of '" << p.description << "' grew. If that is intended, say why in the "
        << "commit and raise its line in " << COST_BUDGET;
}

INSTANTIATE_TEST_SUITE_P(Paths, cost_gate, ::testing::ValuesIn(cost::paths()),
                         [](const auto& info) {
                             auto name = info.param.name;
                             std::erase(name, '-');
                             return name;
                         });

TEST(cost_gate_itself, AnExtraAllocationPerMessageFailsIt) {
    // The same application with one more heap allocation in its handler: over budget.
    const auto& qos1 = cost::paths().front();
    const auto budget = cost::read_budget(COST_BUDGET).at(qos1.name);
    const auto measured =
        cost::measure(cost::routemq_app(COST_APP, {{"COST_EXTRA_ALLOCATION", "1"}}), qos1);
    EXPECT_GE(measured.allocations, budget.allocations + 0.4)
        << "the extra allocation was not seen";
    EXPECT_NE(cost::over_budget(measured, budget), "");
}

}  // namespace
