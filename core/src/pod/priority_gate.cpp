#include "pod/priority_gate.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <limits>

namespace routemq::detail {
namespace {

using state = priority_gate::state;

/// The gate's lock, held for a few reads and writes of the members' cells.
class gate_lock {
public:
    explicit gate_lock(gate_cells& leader) : lock_(&leader.lock) {
        // A member killed while holding it: its cells are written whole or not at all that
        // matter (one atomic store each), so the state stays usable.
        if (pthread_mutex_lock(lock_) == EOWNERDEAD) {
            pthread_mutex_consistent(lock_);
        }
    }
    ~gate_lock() { pthread_mutex_unlock(lock_); }
    gate_lock(const gate_lock&) = delete;
    gate_lock& operator=(const gate_lock&) = delete;

private:
    pthread_mutex_t* lock_;
};

std::uint32_t* futex_word(std::atomic<std::uint32_t>& word) {
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
    return reinterpret_cast<std::uint32_t*>(&word);
}

void wake(gate_cells& member) {
    syscall(SYS_futex, futex_word(member.state), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

/// Sleeps while `member.state` is `expected`, at most `timeout`.
void sleep_while(gate_cells& member, std::uint32_t expected, std::chrono::milliseconds timeout) {
    const timespec ts{static_cast<time_t>(timeout.count() / 1000),
                      static_cast<long>(timeout.count() % 1000) * 1000000};
    syscall(SYS_futex, futex_word(member.state), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

/// The member first in line: the waiting one of the highest priority, oldest first.
gate_cells* first_in_line(const pod_region& m, const std::vector<std::size_t>& members) {
    gate_cells* best = nullptr;
    for (auto slot : members) {
        auto& g = m.process(slot).gate;
        if (g.state.load() != state::waiting) {
            continue;
        }
        if (best == nullptr || g.priority.load() > best->priority.load() ||
            (g.priority.load() == best->priority.load() && g.ticket.load() < best->ticket.load())) {
            best = &g;
        }
    }
    return best;
}

/// A handler slot came free (lock held): to whoever is first in line, else back to the pool.
void hand_on(const pod_region& m, const std::vector<std::size_t>& members) {
    if (auto* next = first_in_line(m, members)) {
        next->state.store(state::running);
        wake(*next);
    } else {
        m.process(members.front()).gate.free.fetch_add(1);
    }
}

}  // namespace

priority_gate::priority_gate(std::shared_ptr<pod_region> metrics, std::vector<std::size_t> members,
                             std::size_t self, int tokens, int priority,
                             std::chrono::milliseconds linger)
    : metrics_(std::move(metrics)),
      members_(std::move(members)),
      self_(self),
      priority_(priority),
      linger_(linger) {
    auto& leader = metrics_->process(members_.front()).gate;
    gate_lock hold(leader);
    if (leader.initialized.load() == 0) {
        leader.free.store(static_cast<std::uint32_t>(tokens));
        leader.initialized.store(1);
    }
    // This member's own cells are left as they are: a replacement (recycling) is built while
    // the process it replaces still runs in the same slot and may hold a handler slot; the
    // manager frees that when the old process exits.
}

void priority_gate::acquire() {
    auto& leader = metrics_->process(members_.front()).gate;
    auto& mine = metrics_->process(self_).gate;
    gate_lock hold(leader);
    if (mine.state.load() == state::lingering) {
        mine.state.store(state::running);  // its lane's next message: the slot is still its own
        return;
    }
    mine.priority.store(static_cast<std::uint32_t>(priority_));
    mine.ticket.store(leader.next_ticket.fetch_add(1));
    mine.state.store(state::waiting);
    while (true) {
        if (mine.state.load() == state::running) {
            return;  // handed on to it
        }
        // First in line takes a free slot, or one lingering past its time or for a lower
        // priority; otherwise it sleeps until woken or the next lingering slot expires.
        auto wait = std::chrono::milliseconds(50);
        if (first_in_line(*metrics_, members_) == &mine) {
            if (leader.free.load() > 0) {
                leader.free.fetch_sub(1);
                mine.state.store(state::running);
                if (leader.free.load() > 0) {
                    if (auto* next = first_in_line(*metrics_, members_)) {
                        wake(*next);  // a slot is left: the next in line need not sleep
                    }
                }
                return;
            }
            const auto now = region_clock_ms();
            for (auto slot : members_) {
                auto& g = metrics_->process(slot).gate;
                if (g.state.load() != state::lingering) {
                    continue;
                }
                if (g.linger_until_ms.load() <= now || g.priority.load() < mine.priority.load()) {
                    g.state.store(state::idle);
                    mine.state.store(state::running);
                    return;
                }
                wait = std::min(wait, std::chrono::milliseconds(g.linger_until_ms.load() - now));
            }
        }
        pthread_mutex_unlock(&leader.lock);
        sleep_while(mine, state::waiting, std::max(wait, std::chrono::milliseconds(1)));
        if (pthread_mutex_lock(&leader.lock) == EOWNERDEAD) {
            pthread_mutex_consistent(&leader.lock);
        }
    }
}

void priority_gate::release() {
    auto& leader = metrics_->process(members_.front()).gate;
    auto& mine = metrics_->process(self_).gate;
    gate_lock hold(leader);
    auto* next = first_in_line(*metrics_, members_);
    if (next != nullptr && next->priority.load() >= mine.priority.load()) {
        mine.state.store(state::idle);
        next->state.store(state::running);
        wake(*next);
        return;
    }
    mine.linger_until_ms.store(region_clock_ms() + linger_.count());
    mine.state.store(state::lingering);
    if (next != nullptr) {
        wake(*next);  // a lower priority waits: let it sleep until the linger ends, not longer
    }
}

void priority_gate::reclaim(const pod_region& metrics, const std::vector<std::size_t>& members,
                            std::size_t gone) {
    auto& leader = metrics.process(members.front()).gate;
    auto& cells = metrics.process(gone).gate;
    gate_lock hold(leader);
    const auto was = cells.state.exchange(state::idle);
    if (was == state::running || was == state::lingering) {
        hand_on(metrics, members);
    }
}

}  // namespace routemq::detail
