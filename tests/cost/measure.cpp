#include "measure.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <routemq/testing/broker.hpp>
#include <routemq/testing/mqtt_client.hpp>
#include <routemq/testing/process.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

using namespace std::chrono_literals;
namespace testing = routemq::testing;

namespace cost {
namespace {

/// Where cost_app's requests ask their replies to go (under REPLY_TOPIC_PREFIXES' default).
constexpr const char* kReplyTopic = "routemq/replies/cost";

/// Runs a callgrind_control command against `pid` and waits for it.
void callgrind_control(const std::string& option, int pid) {
    testing::process control({CALLGRIND_CONTROL, option, std::to_string(pid)});
    const auto status = control.wait(60s);
    if (status != 0) {
        throw std::runtime_error(
            fmt::format("callgrind_control {} {} failed: {}", option, pid, control.output()));
    }
}

/// The counts of a callgrind dump: its total and the calls into the allocator.
figures read_dump(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error("no callgrind dump at " + file);
    }
    // Names are compressed: "(12) malloc" the first time, "(12)" after.
    std::unordered_map<std::string, std::string> names;
    const auto name_of = [&](const std::string& spec) {
        const auto close = spec.find(')');
        if (spec.empty() || spec[0] != '(' || close == std::string::npos) {
            return spec;
        }
        const auto id = spec.substr(0, close + 1);
        if (close + 1 < spec.size()) {
            names[id] = spec.substr(close + 2);
        }
        return names[id];
    };
    const auto allocator = [](std::string name) {
        name = name.substr(0, name.find('\''));  // malloc'2: a recursion level
        return name == "malloc" || name == "calloc" || name == "realloc" ||
               name == "aligned_alloc" || name == "posix_memalign" || name == "memalign" ||
               name == "valloc";
    };
    figures f;
    bool calling_allocator = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("fn=", 0) == 0) {
            name_of(line.substr(3));
        } else if (line.rfind("cfn=", 0) == 0) {
            calling_allocator = allocator(name_of(line.substr(4)));
        } else if (line.rfind("calls=", 0) == 0) {
            if (calling_allocator) {
                f.allocations += std::stod(line.substr(6));
            }
        } else if (line.rfind("totals:", 0) == 0 || line.rfind("summary:", 0) == 0) {
            f.instructions = std::stod(line.substr(line.find(':') + 1));
        }
    }
    return f;
}

std::string input_topic(const path& p, int i) {
    return fmt::format(fmt::runtime(p.topic), i % 100);
}

std::string input_payload(const path& p, int i) {
    return p.json ? fmt::format(R"({{"temp":21.5,"seq":{}}})", i)
                  : fmt::format("{} a reading of about forty bytes", i);
}

/// Sends inputs [first, first + count) of `p` and waits until their results arrived.
void send_and_await(int port, const path& p, int first, int count, testing::mqtt_client& results,
                    const testing::process& app) {
    testing::mqtt_client sender(port, fmt::format("cost-sender-{}", first), /*receive=*/false,
                                /*mqtt5=*/true);
    if (p.request) {
        for (int i = first; i < first + count; ++i) {
            sender.publish_request(input_topic(p, i), input_payload(p, i), kReplyTopic,
                                   std::to_string(i));
        }
    } else if (p.qos > 0) {
        std::vector<testing::received> inputs;
        for (int i = first; i < first + count; ++i) {
            inputs.push_back({input_topic(p, i), input_payload(p, i)});
        }
        sender.publish_many(inputs, 50);
    } else {
        for (int i = first; i < first + count; ++i) {
            sender.publish(input_topic(p, i), input_payload(p, i), 0);
            if (i % 20 == 19) {
                std::this_thread::sleep_for(2ms);  // QoS 0 is dropped by a queue that overflows
            }
        }
    }
    const auto expected = static_cast<std::size_t>(count * p.results_per_input);
    const auto got = results.collect(expected, 120s);
    if (got.size() != expected) {
        throw std::runtime_error(fmt::format("{}: {} of {} results arrived; the worker said:\n{}",
                                             p.name, got.size(), expected, app.output()));
    }
}

}  // namespace

const std::vector<path>& paths() {
    static const std::vector<path> all = {
        {.name = "qos1",
         .description = "QoS 1 in, its result published at QoS 1 and confirmed before the ack",
         .topic = "cost/{}/q1",
         .json = false,
         .qos = 1,
         .request = false,
         .results = "cost/+/done",
         .results_per_input = 1},
        {.name = "qos0",
         .description = "QoS 0 in, its result published at QoS 0",
         .topic = "cost/{}/q0",
         .json = false,
         .qos = 0,
         .request = false,
         .results = "cost/+/done",
         .results_per_input = 1},
        {.name = "json",
         .description =
             "QoS 1 JSON reading, a middleware, a JSON result (the example's kind of work)",
         .topic = "cost/{}/json",
         .json = true,
         .qos = 1,
         .request = false,
         .results = "cost/+/done",
         .results_per_input = 1},
        {.name = "reply",
         .description = "a request: the accepted status and the reply, both confirmed",
         .topic = "cost/{}/ask",
         .json = false,
         .qos = 1,
         .request = true,
         .results = kReplyTopic,
         .results_per_input = 2},
        {.name = "dead-letter",
         .description = "a handler that throws: logged, dead-lettered and confirmed, no retry",
         .topic = "cost/{}/fail",
         .json = false,
         .qos = 1,
         .request = false,
         .results = "dead-letter/cost/+/fail",
         .results_per_input = 1},
    };
    return all;
}

subject routemq_app(const std::string& executable, std::map<std::string, std::string> env) {
    env.emplace("LOG_LEVEL", "info");
    env.emplace("HTTP_HOST", "127.0.0.1");
    return {.argv = {executable, "--env-file", "/dev/null"},
            .env = std::move(env),
            .toggle = "routemq::detail::main_connection::impl::message_arrived*",
            .ready = "] serving"};
}

subject hand_written(const std::string& executable, int qos) {
    return {.argv = {executable, "{port}", "cost", std::to_string(qos), "cost-hand-written"},
            .env = {},
            .toggle = "(anonymous namespace)::on_message*",
            .ready = "ready"};
}

path hand_written_path(int qos) {
    return {.name = fmt::format("hand-written-qos{}", qos),
            .description = "bench/e2e's hand-written Paho C worker",
            .topic = "bench/{}/data",
            .json = false,
            .qos = qos,
            .request = false,
            .results = "bench/+/done",
            .results_per_input = 1};
}

figures measure(const subject& who, const path& p, int count, int warm_up) {
    testing::broker broker("max_queued_messages 0\n");
    const auto dir = testing::temp_path("cost");
    std::filesystem::create_directories(dir);
    std::vector<std::string> argv = {VALGRIND_EXECUTABLE, "--tool=callgrind",
                                     "--collect-atstart=no", "--toggle-collect=" + who.toggle,
                                     "--callgrind-out-file=" + dir + "/cg.out"};
    for (const auto& arg : who.argv) {
        argv.push_back(arg == "{port}" ? std::to_string(broker.port()) : arg);
    }
    auto env = who.env;
    for (const auto& [name, value] : broker.env()) {
        env[name] = value;
    }
    env.emplace("HTTP_PORT", std::to_string(testing::free_loopback_port()));
    testing::process app(argv, env);
    if (!app.wait_for_output(who.ready, 120s)) {
        throw std::runtime_error("the measured process did not start:\n" + app.output());
    }
    testing::mqtt_client results(broker.port(), "cost-results", /*receive=*/true, /*mqtt5=*/true);
    results.subscribe(p.results, p.qos);
    send_and_await(broker.port(), p, 0, warm_up, results, app);
    callgrind_control("--zero", app.pid());
    send_and_await(broker.port(), p, warm_up, count, results, app);
    callgrind_control("--dump", app.pid());
    app.signal(SIGTERM);
    app.wait(60s);
    auto f = read_dump(dir + "/cg.out.1");
    f.instructions /= count;
    f.allocations /= count;
    f.messages = count;
    if (std::getenv("COST_KEEP_DUMP") != nullptr) {
        std::cerr << p.name << ": callgrind's dump is " << dir << "/cg.out.1\n";
    } else {
        std::filesystem::remove_all(dir);
    }
    return f;
}

std::map<std::string, figures> read_budget(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error("cannot read the budget " + file);
    }
    std::map<std::string, figures> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream fields(line);
        std::string name;
        figures f;
        if (!(fields >> name >> f.instructions >> f.allocations)) {
            throw std::runtime_error("bad budget line: " + line);
        }
        out[name] = f;
    }
    return out;
}

std::string over_budget(const figures& measured, const figures& budget) {
    std::string why;
    if (measured.instructions > budget.instructions) {
        why += fmt::format("{:.0f} instructions per message, over the budget of {:.0f} (+{:.1f}%)",
                           measured.instructions, budget.instructions,
                           100.0 * (measured.instructions / budget.instructions - 1));
    }
    if (measured.allocations > budget.allocations) {
        why += fmt::format("{}{:.2f} allocations per message, over the budget of {:.2f}",
                           why.empty() ? "" : "; ", measured.allocations, budget.allocations);
    }
    return why;
}

}  // namespace cost
