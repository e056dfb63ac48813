// The framework's requester in the round-trip case: requests through routemq::client, measured
// by the same loop as the hand-written baseline_requester. A request ends with its final answer
// (routemq-status done); the `accepted` status the framework sends first is part of the round
// trip. Usage: bench_requester <port> <warm-up> <count>; prints what bench::measure_round_trips
// prints.

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <routemq/client.hpp>
#include <string>

#include "round_trips.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: bench_requester <port> <warm-up> <count>\n";
        return 2;
    }
    try {
        const routemq::env_map env = {{"MQTT_BROKER", "127.0.0.1"}, {"MQTT_PORT", argv[1]}};
        routemq::client caller(routemq::load_settings({}, env), {.name = "bench-requester"});
        return bench::measure_round_trips(
            std::atoi(argv[2]), std::atoi(argv[3]),
            [&](const std::string& topic,
                const std::string& payload) -> std::optional<std::string> {
                auto r = caller.request(topic, payload, std::chrono::seconds(5));
                if (!r.answered || r.status != "done") {
                    return std::nullopt;
                }
                return std::move(r.payload);
            });
    } catch (const std::exception& e) {
        std::cerr << "bench_requester: " << e.what() << "\n";
        return 1;
    }
}
