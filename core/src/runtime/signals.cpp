#include "runtime/signals.hpp"

#include <pthread.h>

#include <csignal>
#include <ctime>

namespace routemq::detail {
namespace {

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, kManagerGoneSignal);
    sigaddset(&set, kHandOverSignal);
    sigaddset(&set, kReloadSignal);
    sigaddset(&set, retire_signal());
    return set;
}

}  // namespace

void block_stop_signals() {
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal(std::chrono::milliseconds timeout) {
    const sigset_t set = stop_signals();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

bool take_pending_signal(int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    const timespec zero{0, 0};
    return sigtimedwait(&set, nullptr, &zero) == sig;
}

}  // namespace routemq::detail
