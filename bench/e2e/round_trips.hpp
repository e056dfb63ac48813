#pragma once

// The measuring loop both requesters of the round-trip case share, so that the framework's and
// the baseline's figures come from the same code.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace bench {

/// Sends `warm_up` and then `count` requests, one at a time, to bench/<i % 1000>/request through
/// `ask(topic, payload)`, which returns the answer's payload or nullopt when none came in time.
/// Prints "rtt <nanoseconds>" for each measured request whose answer was its own payload, then
/// "unanswered <n> wrong <n>". Returns 0 when every request got its own answer.
template <class Ask>
int measure_round_trips(int warm_up, int count, Ask&& ask) {
    std::vector<long long> rtt;
    rtt.reserve(static_cast<std::size_t>(count));
    int unanswered = 0;
    int wrong = 0;
    for (int i = 0; i < warm_up + count; ++i) {
        const std::string topic = "bench/" + std::to_string(i % 1000) + "/request";
        const std::string payload = "request " + std::to_string(i);
        const auto t0 = std::chrono::steady_clock::now();
        const std::optional<std::string> answer = ask(topic, payload);
        const auto t1 = std::chrono::steady_clock::now();
        if (!answer) {
            ++unanswered;
        } else if (*answer != payload) {
            ++wrong;
        } else if (i >= warm_up) {
            rtt.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
    }
    for (const long long ns : rtt) {
        std::printf("rtt %lld\n", ns);
    }
    std::printf("unanswered %d wrong %d\n", unanswered, wrong);
    std::fflush(stdout);
    return unanswered == 0 && wrong == 0 ? 0 : 1;
}

}  // namespace bench
