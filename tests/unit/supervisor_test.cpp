// The manager's supervision loop (pod/supervisor.hpp) with a recording launcher: what it
// starts, signals and restarts, decided without forking a process.
#include "pod/supervisor.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>

#include "pod/pod_region.hpp"

namespace {

using namespace std::chrono_literals;
using routemq::detail::slot_state;

void h(routemq::context&) {}

/// Records every call; processes exit when told to (or when a test says).
class recording_launcher final : public routemq::detail::launcher {
public:
    std::vector<std::string> calls;
    std::map<pid_t, int> exits;
    std::set<int> ready;
    std::uint64_t rss = 0;
    /// fork fails for successors.
    bool successors_fail = false;

    pid_t spawn(int slot) override {
        calls.push_back(fmt::format("spawn w{}", slot));
        return ++next_;
    }
    pid_t spawn_successor(int slot) override {
        calls.push_back(fmt::format("spawn successor w{}", slot));
        return successors_fail ? -1 : ++next_;
    }
    bool successor_ready(int slot) override { return ready.erase(slot) > 0; }
    bool let_successor_go(int slot) override {
        calls.push_back(fmt::format("go w{}", slot));
        return true;
    }
    void drop_successor(int slot, pid_t pid) override {
        calls.push_back(fmt::format("drop successor w{} {}", slot, pid));
    }
    void signal(pid_t pid, int sig) override {
        calls.push_back(fmt::format("signal {} {}", pid, sig));
        if (sig == SIGTERM || sig == routemq::detail::kHandOverSignal ||
            sig == routemq::detail::retire_signal()) {
            exits[pid] = 0;
        } else if (sig == SIGKILL) {
            exits[pid] = SIGKILL;
        }
    }
    std::optional<int> exited(pid_t pid) override {
        const auto it = exits.find(pid);
        if (it == exits.end()) {
            return std::nullopt;
        }
        const int status = it->second;
        exits.erase(it);
        return status;
    }
    void wait(pid_t) override {}
    std::uint64_t rss_mib(pid_t) override { return rss; }

    bool called(const std::string& call) const {
        return std::find(calls.begin(), calls.end(), call) != calls.end();
    }

private:
    pid_t next_ = 1000;
};

/// A supervisor over the plan of `r`, its region, its launcher and a clock of its own.
struct pod {
    explicit pod(const routemq::router& r, routemq::detail::supervision how = fast())
        : plan(routemq::detail::plan_pod(r, 0)),
          region(routemq::detail::pod_region::create(plan.process_count() + 1, r.routes().size())),
          sup(plan, launch, std::move(how), region) {}

    static routemq::detail::supervision fast() {
        return {.restart = {.backoff = 100ms, .backoff_max = 1s}};
    }
    slot_state state(int slot) const {
        return region->process(static_cast<std::size_t>(slot)).state.load();
    }
    void connect(int slot) { region->process(static_cast<std::size_t>(slot)).connected = 1; }
    void tick() { sup.tick(now); }

    routemq::detail::pod_plan plan;
    std::shared_ptr<routemq::detail::pod_region> region;
    recording_launcher launch;
    routemq::detail::supervisor sup;
    routemq::detail::slot_clock::time_point now = routemq::detail::slot_clock::now();
};

TEST(Supervisor, CountsWorkersAndProcessesOfTheTreeInTheRegion) {
    routemq::router r;
    r.on("urgent/{id}", &h,
         {.shared = true, .concurrency = 4, .priority = routemq::priority::high});
    r.on("bulk/{id}", &h, {.shared = true, .priority = routemq::priority::low});
    routemq::detail::supervision how = pod::fast();
    pod p(r);
    // Without --workers N each route has its worker: 4 + 1 processes, 2 workers.
    EXPECT_EQ(p.region->manager().workers_planned.load(), 2u);
    EXPECT_EQ(p.region->manager().processes_planned.load(), 5u);
    p.sup.start_all(p.now);
    EXPECT_EQ(p.launch.calls, (std::vector<std::string>{"spawn w1", "spawn w2", "spawn w3",
                                                        "spawn w4", "spawn w5"}));
    EXPECT_EQ(p.region->manager().workers_running.load(), 2u);
    EXPECT_EQ(p.region->manager().processes_running.load(), 5u);
    EXPECT_EQ(p.state(3), slot_state::starting);
    p.connect(3);
    p.tick();
    EXPECT_EQ(p.state(3), slot_state::serving);
    p.launch.exits[p.sup.slot(2).pid] = SIGKILL;
    p.tick();
    EXPECT_EQ(p.region->manager().workers_running.load(), 1u) << "worker 1 lacks a process";
    EXPECT_EQ(p.region->manager().processes_running.load(), 4u);
    EXPECT_EQ(p.state(2), slot_state::backing_off);
}

TEST(Supervisor, RestartsADeadProcessInItsSlotAfterTheBackoff) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 2});
    pod p(r);
    p.sup.start_all(p.now);
    const pid_t victim = p.sup.slot(2).pid;
    p.launch.exits[victim] = SIGKILL;
    p.launch.calls.clear();
    p.tick();
    EXPECT_TRUE(p.launch.calls.empty()) << "not before the backoff";
    p.now += 100ms;
    p.tick();
    EXPECT_EQ(p.launch.calls, std::vector<std::string>{"spawn w2"});
    EXPECT_EQ(p.sup.restarts(), 1);
    EXPECT_NE(p.sup.slot(2).pid, victim);
}

TEST(Supervisor, RecyclingStartsTheSuccessorFirstAndHandsOverWhenItIsReady) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    pod p(r);
    p.sup.start_all(p.now);
    std::string why;
    EXPECT_FALSE(p.sup.recycle(1, "is recycled", why));
    EXPECT_EQ(why, "process w1: it is not connected; try again when it serves");
    p.connect(1);
    p.tick();
    const pid_t old = p.sup.slot(1).pid;
    ASSERT_TRUE(p.sup.recycle(1, "is recycled", why)) << why;
    EXPECT_EQ(p.state(1), slot_state::replacing);
    p.tick();
    EXPECT_TRUE(p.launch.exits.empty()) << "the old process serves until the successor is ready";
    p.launch.ready.insert(1);
    p.tick();  // ready: the old one is told to go, and goes
    EXPECT_TRUE(
        p.launch.called(fmt::format("signal {} {}", old, routemq::detail::kHandOverSignal)));
    p.tick();
    EXPECT_TRUE(p.launch.called("go w1"));
    EXPECT_EQ(p.sup.recycles(), 1);
    EXPECT_EQ(p.state(1), slot_state::starting);
    EXPECT_NE(p.sup.slot(1).pid, old);
}

TEST(Supervisor, ARecycleWhoseSuccessorCannotStartIsRefusedAndTheProcessServesOn) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    pod p(r);
    p.sup.start_all(p.now);
    p.connect(1);
    p.tick();
    p.launch.successors_fail = true;
    std::string why;
    EXPECT_FALSE(p.sup.recycle(1, "is recycled", why));
    EXPECT_EQ(why, "process w1: cannot start its successor (fork failed)");
    EXPECT_EQ(p.state(1), slot_state::serving);
    p.sup.reload();
    p.tick();
    p.launch.successors_fail = false;
    p.tick();
    EXPECT_EQ(p.state(1), slot_state::replacing) << "the reload tries again";
}

TEST(Supervisor, AProcessOverItsMessageLimitIsRecycled) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    auto how = pod::fast();
    how.max_messages = 10;
    pod p(r, how);
    p.sup.start_all(p.now);
    p.connect(1);
    p.tick();
    for (int i = 0; i < 11; ++i) {
        p.region->record(1, 0, routemq::detail::outcome::handled, 1000);
    }
    p.tick();
    EXPECT_EQ(p.state(1), slot_state::replacing);
}

TEST(Supervisor, AHandlerPastItsTimeoutGetsItsProcessKilledAndItsMessageBlamed) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    pod p(r);
    p.sup.start_all(p.now);
    const pid_t pid = p.sup.slot(1).pid;
    p.region->begin_work(1, 0, "a/1", 42, 1ms);
    std::this_thread::sleep_for(5ms);
    p.tick();  // killed
    EXPECT_TRUE(p.launch.called(fmt::format("signal {} {}", pid, SIGKILL)));
    EXPECT_EQ(p.region->manager().handler_timeouts.load(), 1u);
    p.tick();  // reaped
    std::int32_t last = 0;
    EXPECT_EQ(p.region->crashes(42, last), 1);
    EXPECT_EQ(last, routemq::detail::kTimedOut);
    EXPECT_EQ(p.state(1), slot_state::backing_off);
}

TEST(Supervisor, ScalingDownDuringAReloadNeitherStallsTheReloadNorLeavesASession) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 3});
    pod p(r);
    p.sup.start_all(p.now);
    for (int slot = 1; slot <= 3; ++slot) {
        p.connect(slot);
    }
    p.tick();
    p.sup.reload();
    p.tick();  // w1 is being replaced
    EXPECT_EQ(p.state(1), slot_state::replacing);
    std::string why;
    ASSERT_TRUE(p.sup.scale(0, 1, why)) << why;
    EXPECT_EQ(p.state(2), slot_state::retiring);
    EXPECT_EQ(p.state(3), slot_state::retiring);
    for (int i = 0; i < 5; ++i) {
        p.launch.ready.insert(1);
        p.tick();
    }
    EXPECT_EQ(p.state(2), slot_state::spare) << "gone, its session ended";
    EXPECT_EQ(p.state(3), slot_state::spare);
    EXPECT_EQ(p.sup.recycles(), 1);
    EXPECT_EQ(std::count_if(p.launch.calls.begin(), p.launch.calls.end(),
                            [](const auto& c) { return c.rfind("spawn successor", 0) == 0; }),
              1)
        << "the reload replaced w1 only: w2 and w3 had left";
}

TEST(Supervisor, ScalingUpStartsEveryProcessOfASpareWorker) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .min_workers = 1, .max_workers = 2, .concurrency = 2});
    pod p(r);
    p.sup.start_all(p.now);  // w3-w4 start once, to end what a previous run left
    EXPECT_EQ(p.state(3), slot_state::to_retire);
    for (int slot = 1; slot <= 4; ++slot) {
        p.connect(slot);
    }
    p.tick();  // told to retire, and gone
    p.tick();
    EXPECT_EQ(p.state(3), slot_state::spare);
    EXPECT_EQ(p.state(4), slot_state::spare);
    p.launch.calls.clear();
    std::string why;
    ASSERT_TRUE(p.sup.scale(0, 2, why)) << why;
    EXPECT_EQ(p.launch.calls, (std::vector<std::string>{"spawn w3", "spawn w4"}));
    EXPECT_EQ(p.region->scaling(0).scaled_up.load(), 1u);
}

TEST(Supervisor, StoppingSignalsEveryProcessAndDropsSuccessors) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 2});
    pod p(r);
    p.sup.start_all(p.now);
    p.connect(1);
    p.tick();
    std::string why;
    ASSERT_TRUE(p.sup.recycle(1, "is recycled", why));
    const pid_t successor = p.sup.slot(1).successor;
    EXPECT_EQ(p.sup.stop_all(1s), 0u);
    EXPECT_TRUE(p.launch.called(fmt::format("drop successor w1 {}", successor)));
    EXPECT_EQ(p.state(1), slot_state::stopped);
    EXPECT_EQ(p.state(2), slot_state::stopped);
    EXPECT_EQ(p.sup.running(), 0u);
}

}  // namespace
