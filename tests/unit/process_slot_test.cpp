// The life of a process slot (pod/process_slot.hpp), step by step: no process is forked.
#include "pod/process_slot.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

namespace {

using namespace std::chrono_literals;
using routemq::detail::order;
using routemq::detail::process_slot;
using routemq::detail::restart_policy;
using routemq::detail::slot_action;
using routemq::detail::slot_action_kind;
using routemq::detail::slot_event;
using routemq::detail::slot_event_kind;
using routemq::detail::slot_state;
using routemq::detail::step_result;
using kind = slot_event_kind;
using actions = std::vector<slot_action>;

const restart_policy kPolicy{.backoff = 500ms, .backoff_max = 4s, .healthy_uptime = 10s};
const auto t0 = routemq::detail::slot_clock::time_point{} + 1h;

constexpr int kKilled = SIGKILL;  // a wait status: killed by signal 9
constexpr int kClean = 0;         // exited 0

const slot_action kSpawn{.kind = slot_action_kind::spawn};
const slot_action kRestart{.kind = slot_action_kind::spawn, .restart = true};
const slot_action kSpawnSuccessor{.kind = slot_action_kind::spawn_successor};
const slot_action kLetGo{.kind = slot_action_kind::let_successor_go};
const slot_action kDropSuccessor{.kind = slot_action_kind::drop_successor};
const slot_action kForgetSuccessor{.kind = slot_action_kind::forget_successor};
slot_action send(order o) {
    return {.kind = slot_action_kind::signal, .signal = o};
}

/// A slot and a clock, driven by events.
struct slot_driver {
    process_slot slot;
    routemq::detail::slot_clock::time_point now = t0;

    step_result on(slot_event e) { return step(slot, e, now, kPolicy); }
    step_result on(kind k) { return on(slot_event{.kind = k}); }
    /// Started and connected as pid `pid`.
    void serve(pid_t pid) {
        on(kind::start);
        on({.kind = kind::spawned, .pid = pid});
        on(kind::connected);
    }
    /// Replacing with successor `successor`.
    void replace(pid_t successor) {
        on(kind::replace);
        on({.kind = kind::successor_spawned, .pid = successor});
    }
};

TEST(ProcessSlot, StartsSpawnsAndServesOnceConnected) {
    slot_driver d;
    EXPECT_EQ(d.on(kind::start).actions, actions{kSpawn});
    EXPECT_EQ(d.slot.state, slot_state::starting);
    d.on({.kind = kind::spawned, .pid = 100});
    EXPECT_EQ(d.slot.pid, 100);
    EXPECT_EQ(d.slot.state, slot_state::starting);
    EXPECT_TRUE(d.on(kind::connected).actions.empty());
    EXPECT_EQ(d.slot.state, slot_state::serving);
}

TEST(ProcessSlot, ASpareIsStartedOnceToEndWhatAPreviousRunLeftInItsSessionThenGoes) {
    slot_driver d;
    d.slot.planned_spare = true;
    EXPECT_EQ(d.on(kind::start).actions, actions{kSpawn});
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    d.on({.kind = kind::spawned, .pid = 100});
    EXPECT_EQ(d.on(kind::connected).actions, actions{send(order::retire)});
    EXPECT_EQ(d.slot.state, slot_state::retiring);
    EXPECT_TRUE(d.on({.kind = kind::exited, .status = kClean}).actions.empty());
    EXPECT_EQ(d.slot.state, slot_state::spare);
    EXPECT_EQ(d.slot.pid, 0);
    d.now += 1h;
    EXPECT_TRUE(d.on(kind::tick).actions.empty()) << "a spare is not restarted";
    EXPECT_EQ(d.on(kind::activate).actions, actions{kSpawn});
    EXPECT_EQ(d.slot.state, slot_state::starting);
}

TEST(ProcessSlot, QuickDeathsDoubleTheBackoffAndAHealthyRunOrAQuarantinedMessageResetsIt) {
    slot_driver d;
    d.serve(100);
    pid_t pid = 100;
    for (auto expected : {500ms, 1000ms, 2000ms, 4000ms, 4000ms}) {
        d.now += 1s;
        d.on({.kind = kind::exited, .status = kKilled});
        EXPECT_EQ(d.slot.state, slot_state::backing_off);
        EXPECT_EQ(d.slot.restart_at - d.now, expected);
        d.now = d.slot.restart_at - 1ms;
        EXPECT_TRUE(d.on(kind::tick).actions.empty()) << "not before the delay";
        d.now += 1ms;
        EXPECT_EQ(d.on(kind::tick).actions, actions{kRestart});
        EXPECT_EQ(d.slot.state, slot_state::starting);
        d.on({.kind = kind::spawned, .pid = ++pid});
    }
    d.now += 10s;
    d.on({.kind = kind::exited, .status = kKilled});
    EXPECT_EQ(d.slot.restart_at - d.now, 500ms) << "it had lived 10 s: the backoff starts over";
    d.on(kind::tick);
    d.now = d.slot.restart_at;
    d.on(kind::tick);
    d.on({.kind = kind::spawned, .pid = ++pid});
    d.on({.kind = kind::exited, .status = kKilled});
    EXPECT_EQ(d.slot.restart_at - d.now, 1000ms);
    d.now = d.slot.restart_at;
    d.on(kind::tick);
    d.on({.kind = kind::spawned, .pid = ++pid});
    d.on({.kind = kind::exited, .status = kKilled, .quarantined = true});
    EXPECT_EQ(d.slot.restart_at - d.now, 500ms)
        << "its message will not kill the next process: the backoff starts over";
}

TEST(ProcessSlot, AFailedForkIsTriedAgainAfterTheBackoff) {
    slot_driver d;
    d.on(kind::start);
    d.on({.kind = kind::spawned, .pid = -1});
    EXPECT_EQ(d.slot.state, slot_state::backing_off);
    d.now += 500ms;
    EXPECT_EQ(d.on(kind::tick).actions, actions{kRestart});
}

TEST(ProcessSlot, AReplacementTakesOverOnlyAfterItIsReadyAndTheOldProcessHasGone) {
    slot_driver d;
    d.serve(100);
    EXPECT_EQ(d.on(kind::replace).actions, actions{kSpawnSuccessor});
    EXPECT_EQ(d.slot.state, slot_state::replacing);
    d.on({.kind = kind::successor_spawned, .pid = 200});
    EXPECT_EQ(d.slot.successor, 200);
    EXPECT_EQ(d.on(kind::successor_ready).actions, actions{send(order::hand_over)});
    EXPECT_EQ(d.slot.state, slot_state::handing_over);
    EXPECT_EQ(d.on({.kind = kind::exited, .status = kClean}).actions, actions{kLetGo});
    EXPECT_EQ(d.slot.pid, 200);
    EXPECT_EQ(d.slot.successor, 0);
    EXPECT_EQ(d.slot.state, slot_state::starting);
    d.on(kind::connected);
    EXPECT_EQ(d.slot.state, slot_state::serving);
}

TEST(ProcessSlot, ASuccessorThatDiesBeforeItIsReadyLeavesTheOldProcessServing) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    EXPECT_EQ(d.on({.kind = kind::successor_exited, .status = kKilled}).actions,
              actions{kForgetSuccessor});
    EXPECT_EQ(d.slot.state, slot_state::serving);
    EXPECT_EQ(d.slot.pid, 100);
    EXPECT_EQ(d.on(kind::replace).actions, actions{kSpawnSuccessor}) << "it can be tried again";
}

TEST(ProcessSlot, ASuccessorThatDiesAfterTheOldProcessWasToldToGoMeansARestartAsUsual) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    d.on(kind::successor_ready);
    d.on({.kind = kind::successor_exited, .status = kKilled});
    EXPECT_EQ(d.slot.state, slot_state::handing_over) << "pid 100 was told to go";
    EXPECT_TRUE(d.on({.kind = kind::exited, .status = kClean}).actions.empty());
    EXPECT_EQ(d.slot.state, slot_state::backing_off);
    d.now = d.slot.restart_at;
    EXPECT_EQ(d.on(kind::tick).actions, actions{kRestart});
}

TEST(ProcessSlot, AnOldProcessThatDiesBeforeItsSuccessorIsReadyIsTakenOverAtOnce) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    EXPECT_EQ(d.on({.kind = kind::exited, .status = kKilled}).actions, actions{kLetGo});
    EXPECT_EQ(d.slot.pid, 200);
    EXPECT_EQ(d.slot.state, slot_state::starting);
}

TEST(ProcessSlot, APoisonMessageDuringRecyclingLetsTheSuccessorTakeOver) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    d.on(kind::successor_ready);
    EXPECT_EQ(d.on({.kind = kind::exited, .status = kKilled, .quarantined = true}).actions,
              actions{kLetGo});
    EXPECT_EQ(d.slot.pid, 200);
}

TEST(ProcessSlot, OnlyAServingProcessCanBeReplaced) {
    for (auto [setup, why] : std::vector<std::pair<std::function<void(slot_driver&)>, std::string>>{
             {[](slot_driver& d) { d.on(kind::start); },
              "it is not connected; try again when "
              "it serves"},
             {[](slot_driver& d) { d.serve(1), d.replace(2); }, "it is being replaced already"},
             {[](slot_driver& d) { d.serve(1), d.on(kind::retire); },
              "it is being removed (scaling)"},
             {[](slot_driver& d) { d.serve(1), d.on({.kind = kind::exited, .status = 9}); },
              "it is not running"},
         }) {
        slot_driver d;
        setup(d);
        const auto before = d.slot.state;
        const auto r = d.on(kind::replace);
        EXPECT_EQ(r.refused, why);
        EXPECT_TRUE(r.actions.empty());
        EXPECT_EQ(d.slot.state, before);
    }
}

TEST(ProcessSlot, ScalingDownWhileReplacingDropsTheSuccessorAndRetiresTheProcess) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    EXPECT_EQ(d.on(kind::retire).actions, (actions{kDropSuccessor, send(order::retire)}));
    EXPECT_EQ(d.slot.state, slot_state::retiring);
    EXPECT_EQ(d.slot.successor, 0);
}

TEST(ProcessSlot, ScalingDownWhileHandingOverLetsTheSuccessorTakeOverAndRetire) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    d.on(kind::successor_ready);  // pid 100 keeps its session for pid 200
    EXPECT_TRUE(d.on(kind::retire).actions.empty());
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    EXPECT_TRUE(d.on(kind::connected).actions.empty())
        << "pid 100 is handing its session over: it is not the one to end it";
    EXPECT_EQ(d.on({.kind = kind::exited, .status = kClean}).actions, actions{kLetGo});
    EXPECT_EQ(d.slot.pid, 200);
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    EXPECT_EQ(d.on(kind::connected).actions, actions{send(order::retire)});
    EXPECT_EQ(d.slot.state, slot_state::retiring);
    d.on({.kind = kind::exited, .status = kClean});
    EXPECT_EQ(d.slot.state, slot_state::spare);
}

TEST(ProcessSlot, ScalingDownWhileHandingOverToASuccessorThatDiesEndsTheSessionLater) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    d.on(kind::successor_ready);
    d.on(kind::retire);
    EXPECT_EQ(d.on({.kind = kind::successor_exited, .status = kKilled}).actions,
              actions{kForgetSuccessor});
    EXPECT_TRUE(d.on(kind::connected).actions.empty())
        << "pid 100 keeps its session whatever it is told: it cannot end it";
    d.on({.kind = kind::exited, .status = kClean});
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    d.now = d.slot.restart_at;
    EXPECT_EQ(d.on(kind::tick).actions, actions{kRestart}) << "a process started to end it";
    d.on({.kind = kind::spawned, .pid = 300});
    EXPECT_EQ(d.on(kind::connected).actions, actions{send(order::retire)});
}

TEST(ProcessSlot, ARetiringProcessThatDiesIsStartedAgainToEndItsSession) {
    slot_driver d;
    d.serve(100);
    EXPECT_EQ(d.on(kind::retire).actions, actions{send(order::retire)});
    d.on({.kind = kind::exited, .status = kKilled});
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    d.now = d.slot.restart_at;
    EXPECT_EQ(d.on(kind::tick).actions, actions{kRestart});
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
}

TEST(ProcessSlot, ScalingDownAProcessNotYetConnectedWaitsForItToConnect) {
    slot_driver d;
    d.on(kind::start);
    d.on({.kind = kind::spawned, .pid = 100});
    EXPECT_TRUE(d.on(kind::retire).actions.empty());
    EXPECT_EQ(d.slot.state, slot_state::to_retire);
    EXPECT_EQ(d.on(kind::connected).actions, actions{send(order::retire)});
    EXPECT_TRUE(d.on(kind::activate).actions.empty()) << "a leaving worker finishes first";
}

TEST(ProcessSlot, AHandlerPastItsTimeoutIsKilledOnceAndItsDeathIsATimeout) {
    slot_driver d;
    d.serve(100);
    EXPECT_EQ(d.on(kind::past_timeout).actions, actions{send(order::kill)});
    EXPECT_TRUE(d.on(kind::past_timeout).actions.empty());
    EXPECT_TRUE(d.slot.death_of(kKilled).timed_out);
    d.on({.kind = kind::exited, .status = kKilled});
    d.now = d.slot.restart_at;
    d.on(kind::tick);
    d.on({.kind = kind::spawned, .pid = 101});
    EXPECT_FALSE(d.slot.death_of(kKilled).timed_out) << "the next process starts afresh";
}

TEST(ProcessSlot, StoppingSignalsEveryProcessDropsSuccessorsAndRestartsNothing) {
    slot_driver d;
    d.serve(100);
    d.replace(200);
    EXPECT_EQ(d.on(kind::stop).actions, (actions{kDropSuccessor, send(order::stop)}));
    EXPECT_EQ(d.slot.state, slot_state::stopping);
    EXPECT_EQ(d.on(kind::stop_overdue).actions, actions{send(order::kill)});
    d.on({.kind = kind::exited, .status = kKilled});
    EXPECT_EQ(d.slot.state, slot_state::stopped);
    d.now += 1h;
    EXPECT_TRUE(d.on(kind::tick).actions.empty());

    slot_driver backing_off;
    backing_off.serve(100);
    backing_off.on({.kind = kind::exited, .status = kKilled});
    EXPECT_TRUE(backing_off.on(kind::stop).actions.empty());
    EXPECT_EQ(backing_off.slot.state, slot_state::stopped);
    backing_off.now += 1h;
    EXPECT_TRUE(backing_off.on(kind::tick).actions.empty());
}

TEST(ProcessSlot, AWorkerLeavesAsItsSlotStateSays) {
    using routemq::detail::how_a_worker_leaves;
    const auto how = [](int sig, slot_state s, bool keep) {
        const auto l = how_a_worker_leaves(sig, s, keep);
        return std::tuple(l.unsubscribe, l.end_session, l.orphaned);
    };
    const auto keep = std::tuple(false, false, false);
    const auto end = std::tuple(true, true, false);
    const auto orphan = std::tuple(false, false, true);
    using routemq::detail::kHandOverSignal;
    using routemq::detail::kManagerGoneSignal;
    using routemq::detail::retire_signal;
    EXPECT_EQ(how(kHandOverSignal, slot_state::handing_over, false), keep);
    EXPECT_EQ(how(kManagerGoneSignal, slot_state::handing_over, false), orphan)
        << "a manager gone during a handover: nobody will say go";
    EXPECT_EQ(how(retire_signal(), slot_state::retiring, true), end)
        << "removed by scaling: nothing may wait in its session";
    EXPECT_EQ(how(SIGTERM, slot_state::stopping, false), end);
    EXPECT_EQ(how(SIGTERM, slot_state::stopping, true), keep) << "WORKER_KEEP_SESSION_ON_STOP";
    EXPECT_EQ(how(kHandOverSignal, slot_state::unsupervised, false), keep);
    EXPECT_EQ(how(retire_signal(), slot_state::unsupervised, true), end);
}

// ---- The table in docs/internals.md is this code's ----

/// A slot in `s` as the machine leaves it there.
process_slot in(slot_state s) {
    process_slot slot;
    slot.state = s;
    slot.started = t0;
    slot.restart_at = t0;
    slot.planned_spare = s == slot_state::spare;
    const bool has_process =
        s != slot_state::spare && s != slot_state::backing_off && s != slot_state::stopped;
    slot.pid = has_process ? 100 : 0;
    slot.successor = s == slot_state::replacing || s == slot_state::handing_over ? 200 : 0;
    slot.keeps_session = s == slot_state::handing_over;
    return slot;
}

std::string describe(const slot_action& a) {
    switch (a.kind) {
        case slot_action_kind::spawn:
            return a.restart ? "restart" : "spawn";
        case slot_action_kind::spawn_successor:
            return "spawn successor";
        case slot_action_kind::signal:
            switch (a.signal) {
                case order::stop:
                    return "SIGTERM";
                case order::hand_over:
                    return "hand-over signal";
                case order::retire:
                    return "retire signal";
                case order::kill:
                    return "SIGKILL";
            }
            break;
        case slot_action_kind::let_successor_go:
            return "successor goes";
        case slot_action_kind::drop_successor:
            return "drop successor";
        case slot_action_kind::forget_successor:
            return "forget successor";
    }
    return "?";
}

/// Every transition that does something, as the Markdown table of docs/internals.md.
std::string transition_table() {
    using routemq::detail::state_name;
    const std::vector<std::pair<std::string, slot_event>> events = {
        {"start", {.kind = kind::start}},
        {"spawned", {.kind = kind::spawned, .pid = 300}},
        {"spawn failed", {.kind = kind::spawned, .pid = -1}},
        {"connected", {.kind = kind::connected}},
        {"exited 0", {.kind = kind::exited, .status = kClean}},
        {"died", {.kind = kind::exited, .status = kKilled}},
        {"replace", {.kind = kind::replace}},
        {"successor spawned", {.kind = kind::successor_spawned, .pid = 300}},
        {"successor ready", {.kind = kind::successor_ready}},
        {"successor died", {.kind = kind::successor_exited, .status = kKilled}},
        {"past timeout", {.kind = kind::past_timeout}},
        {"activate", {.kind = kind::activate}},
        {"retire", {.kind = kind::retire}},
        {"restart due", {.kind = kind::tick}},
        {"stop", {.kind = kind::stop}},
        {"stop overdue", {.kind = kind::stop_overdue}},
    };
    std::string out = "| state | event | next state | actions |\n|---|---|---|---|\n";
    for (auto s :
         {slot_state::spare, slot_state::starting, slot_state::serving, slot_state::replacing,
          slot_state::handing_over, slot_state::to_retire, slot_state::retiring,
          slot_state::backing_off, slot_state::stopping, slot_state::stopped}) {
        for (const auto& [name, e] : events) {
            auto slot = in(s);
            const auto before = slot;
            const auto r = step(slot, e, t0, kPolicy);
            if (r.actions.empty() && slot.state == before.state && slot.pid == before.pid &&
                slot.successor == before.successor) {
                continue;
            }
            std::string acts;
            for (const auto& a : r.actions) {
                acts += (acts.empty() ? "" : ", ") + describe(a);
            }
            out += "| " + std::string(state_name(s)) + " | " + name + " | " +
                   state_name(slot.state) + " | " + (acts.empty() ? "-" : acts) + " |\n";
        }
    }
    return out;
}

TEST(ProcessSlot, TheTableInTheInternalsGuideIsTheCodes) {
    std::ifstream file(std::string(ROUTEMQ_SOURCE_DIR) + "/docs/internals.md");
    std::stringstream text;
    text << file.rdbuf();
    const std::string doc = text.str();
    const std::string begin = "<!-- slot transitions: checked by process_slot_test -->\n";
    const auto from = doc.find(begin);
    ASSERT_NE(from, std::string::npos) << "docs/internals.md lost the table's marker";
    const auto to = doc.find("\n\n", from + begin.size());
    EXPECT_EQ(doc.substr(from + begin.size(), to + 1 - from - begin.size()), transition_table())
        << "docs/internals.md's table of slot transitions differs from the code; the code's:\n"
        << transition_table();
}

}  // namespace
