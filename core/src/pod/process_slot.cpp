#include "pod/process_slot.hpp"

#include <sys/wait.h>

#include <algorithm>

namespace routemq::detail {
namespace {

using kind = slot_event_kind;
using state = slot_state;

slot_action spawn(bool restart = false) {
    return {.kind = slot_action_kind::spawn, .restart = restart};
}

slot_action send(order o) {
    return {.kind = slot_action_kind::signal, .signal = o};
}

slot_action of(slot_action_kind k) {
    return {.kind = k};
}

/// The delay before restarting a process that lived since `slot.started` and died at `now`.
std::chrono::milliseconds backoff_after_death(process_slot& slot, bool quarantined,
                                              slot_clock::time_point now,
                                              const restart_policy& policy) {
    // A death whose message is now quarantined starts the backoff over too: that message will
    // not kill the next process, so a few poison messages in one slot's queue do not add up to a
    // long stop (0.5 + 1 + 2 + 4 + 8 + 16 s for three of them, seen in `make chaos`).
    slot.quick_deaths =
        now - slot.started >= policy.healthy_uptime || quarantined ? 1 : slot.quick_deaths + 1;
    auto delay = policy.backoff;
    for (int i = 1; i < slot.quick_deaths && delay < policy.backoff_max; ++i) {
        delay *= 2;
    }
    return std::min(delay, policy.backoff_max);
}

/// The process is gone.
void gone(process_slot& slot) {
    slot.pid = 0;
    slot.timed_out = false;
    slot.keeps_session = false;
}

/// The successor is the slot's process now.
void take_over(process_slot& slot, slot_clock::time_point now) {
    slot.pid = slot.successor;
    slot.successor = 0;
    slot.started = now;
    slot.timed_out = false;
    slot.keeps_session = false;
}

}  // namespace

bool in_service(slot_state s) noexcept {
    switch (s) {
        case state::starting:
        case state::serving:
        case state::replacing:
        case state::handing_over:
        case state::backing_off:
            return true;
        default:
            return false;
    }
}

step_result step(process_slot& slot, const slot_event& e, slot_clock::time_point now,
                 const restart_policy& policy) {
    step_result out;
    auto& act = out.actions;
    const auto s = slot.state;
    const bool has_successor = slot.successor > 0;

    // Events that mean the same in every state with a process.
    if (e.kind == kind::past_timeout) {
        if (slot.pid > 0 && !slot.timed_out) {
            slot.timed_out = true;
            act.push_back(send(order::kill));
        }
        return out;
    }
    if (e.kind == kind::stop_overdue) {
        if (slot.pid > 0 && s == state::stopping) {
            act.push_back(send(order::kill));
        }
        return out;
    }
    if (e.kind == kind::stop && s != state::stopping && s != state::stopped) {
        if (has_successor) {
            // A successor that has not taken over has nothing in hand: it goes at once.
            act.push_back(of(slot_action_kind::drop_successor));
            slot.successor = 0;
        }
        if (slot.pid > 0) {
            act.push_back(send(order::stop));
            slot.state = state::stopping;
        } else if (s != state::spare) {
            slot.state = state::stopped;
        }
        return out;
    }
    if (e.kind == kind::successor_exited && has_successor) {
        // It died before taking over: the old process serves on (replacing), or, told to go
        // already (handing_over), leaves and is restarted as usual.
        act.push_back(of(slot_action_kind::forget_successor));
        slot.successor = 0;
        if (s == state::replacing) {
            slot.state = state::serving;
        }
        return out;
    }
    if (e.kind == kind::replace && s != state::serving) {
        out.refused =
            s == state::replacing || s == state::handing_over ? "it is being replaced already"
            : s == state::to_retire || s == state::retiring   ? "it is being removed (scaling)"
            : s == state::starting ? "it is not connected; try again when it serves"
                                   : "it is not running";
        return out;
    }

    switch (s) {
        case state::none:
        case state::unsupervised:
        case state::stopped:
            break;

        case state::spare:
            if (e.kind == kind::start && slot.planned_spare) {
                // A previous run with this instance name (a manager killed and replaced) may
                // have left this spare's session subscribed, collecting its share of messages:
                // it starts once to handle them and end that session, then goes.
                slot.state = state::to_retire;
                act.push_back(spawn());
            } else if (e.kind == kind::start || e.kind == kind::activate) {
                slot.state = state::starting;
                act.push_back(spawn());
            }
            break;

        case state::starting:
        case state::serving:
        case state::to_retire:
        case state::backing_off:
            if (e.kind == kind::spawned && slot.pid == 0 &&
                (s == state::starting || s == state::to_retire)) {
                if (e.pid > 0) {
                    slot.pid = e.pid;
                    slot.started = now;
                    slot.timed_out = false;
                } else {
                    // fork failed: try again after the first delay.
                    slot.restart_at = now + policy.backoff;
                    if (s == state::starting) {
                        slot.state = state::backing_off;
                    }
                }
            } else if (e.kind == kind::connected && slot.pid > 0) {
                if (s == state::starting) {
                    slot.state = state::serving;
                } else if (s == state::to_retire && !has_successor && !slot.keeps_session) {
                    // Only once connected: a process that never connected would not end its
                    // session.
                    slot.state = state::retiring;
                    act.push_back(send(order::retire));
                }
            } else if (e.kind == kind::exited && slot.pid > 0 && has_successor) {
                // to_retire after a handover began: the successor takes the session over, and
                // retires once connected.
                act.push_back(of(slot_action_kind::let_successor_go));
                take_over(slot, now);
            } else if (e.kind == kind::exited && slot.pid > 0) {
                const auto delay = backoff_after_death(slot, e.quarantined, now, policy);
                gone(slot);
                slot.restart_at = now + delay;
                // Not yet told to retire, its session may hold messages: it starts again, to
                // end it.
                slot.state = s == state::to_retire ? state::to_retire : state::backing_off;
            } else if (e.kind == kind::tick && slot.pid == 0 &&
                       (s == state::backing_off || s == state::to_retire) &&
                       now >= slot.restart_at) {
                if (s == state::backing_off) {
                    slot.state = state::starting;
                }
                act.push_back(spawn(true));
            } else if (e.kind == kind::replace) {  // serving, checked above
                slot.state = state::replacing;
                act.push_back(of(slot_action_kind::spawn_successor));
            } else if (e.kind == kind::retire) {
                if (s == state::serving) {
                    slot.state = state::retiring;
                    act.push_back(send(order::retire));
                } else if (s != state::to_retire) {
                    slot.state = state::to_retire;  // starting or backing off: once connected
                }
            }
            break;

        case state::replacing:
        case state::handing_over:
            if (e.kind == kind::successor_spawned && s == state::replacing && !has_successor) {
                if (e.pid > 0) {
                    slot.successor = e.pid;
                    slot.handover_started = now;
                } else {
                    slot.state = state::serving;
                    out.refused = "cannot start its successor (fork failed)";
                }
            } else if (e.kind == kind::successor_ready && s == state::replacing && has_successor) {
                // Only now is the old process asked to go: a successor that cannot start leaves
                // it serving.
                slot.state = state::handing_over;
                slot.keeps_session = true;
                act.push_back(send(order::hand_over));
            } else if (e.kind == kind::exited && has_successor) {
                // Gone (told to, or died): the successor connects with the same client id.
                act.push_back(of(slot_action_kind::let_successor_go));
                take_over(slot, now);
                slot.state = state::starting;
            } else if (e.kind == kind::exited) {
                // Told to go, and its successor died before taking over.
                const auto delay = backoff_after_death(slot, e.quarantined, now, policy);
                gone(slot);
                slot.restart_at = now + delay;
                slot.state = state::backing_off;
            } else if (e.kind == kind::retire && s == state::replacing) {
                // The old process was not told to go yet: the successor goes, the old one
                // retires.
                if (has_successor) {
                    act.push_back(of(slot_action_kind::drop_successor));
                    slot.successor = 0;
                }
                slot.state = state::retiring;
                act.push_back(send(order::retire));
            } else if (e.kind == kind::retire) {
                // Told to hand over, the old process keeps its session for the successor: the
                // handover finishes, and the successor retires once connected.
                slot.state = state::to_retire;
            }
            break;

        case state::retiring:
            if (e.kind == kind::exited) {
                const bool clean = WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0;
                const auto delay = backoff_after_death(slot, e.quarantined, now, policy);
                gone(slot);
                if (clean) {
                    // Its session is ended: nothing waits in it.
                    slot.state = state::spare;
                    slot.quick_deaths = 0;
                } else {
                    slot.restart_at = now + delay;
                    slot.state = state::to_retire;
                }
            }
            break;

        case state::stopping:
            if (e.kind == kind::exited) {
                gone(slot);
                slot.state = state::stopped;
            }
            break;
    }
    return out;
}

}  // namespace routemq::detail
