#pragma once

#include <map>
#include <string>
#include <vector>

namespace cost {

/// What one message costs on a worker's hot path: from Paho's message-arrived callback into the
/// application until it returns (Paho acknowledges the input right after), on that thread,
/// averaged over `messages`. Counted by callgrind, so the figures are the same on any machine:
/// they do not move with its load.
struct figures {
    double instructions = 0;
    /// Calls of malloc, calloc, realloc and the aligned allocators (C++'s operator new and Paho
    /// both allocate through them).
    double allocations = 0;
    int messages = 0;
};

/// The paths a message can take through cost_app, each a route of it.
struct path {
    std::string name;
    /// What it measures, for a report.
    std::string description;
    /// Where input i goes: `{}` is replaced by i % 100.
    std::string topic;
    /// Inputs are JSON readings ({"temp": .., "seq": i}) rather than text.
    bool json = false;
    int qos = 1;
    /// Requests (MQTT 5, Response Topic and Correlation Data) rather than plain messages.
    bool request = false;
    /// What the worker publishes per input, and where: the measurement waits for all of it.
    std::string results;
    int results_per_input = 1;
};

/// Every path of cost_app, in the order of a report.
const std::vector<path>& paths();

/// A process to measure: `argv` (run under valgrind; an argument "{port}" becomes the broker's
/// port) with `env` added, `toggle` the function whose calls are counted (callgrind's
/// --toggle-collect), `ready` a line its output prints once it is subscribed.
struct subject {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    std::string toggle;
    std::string ready;
};

/// cost_app, or another RouteMQ application serving cost_app's routes, as a subject.
subject routemq_app(const std::string& executable, std::map<std::string, std::string> env = {});

/// bench/e2e's hand-written Paho C workers (baseline_worker, baseline_confirmed_worker) as a
/// subject, and the path they serve: bench/<i>/data in, bench/<i>/done out, at `qos`.
subject hand_written(const std::string& executable, int qos);
path hand_written_path(int qos);

/// Runs `who` under callgrind against a fresh mosquitto, sends it `warm_up` inputs of `p`
/// unmeasured, then `count` measured, waits for every result and reads the counts. Throws
/// std::runtime_error, with the subject's output, when something does not happen.
figures measure(const subject& who, const path& p, int count = 300, int warm_up = 50);

/// The budget committed in tests/cost/budget.txt: one line per path, `<name> <instructions>
/// <allocations>` (per message), `#` comments.
std::map<std::string, figures> read_budget(const std::string& file);

/// Why `measured` exceeds `budget`, or "" when it does not.
std::string over_budget(const figures& measured, const figures& budget);

}  // namespace cost
