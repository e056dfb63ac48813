// Several threads sharing one routemq::client, each sending requests to the test app's
// test/request/{id} route and checking that every answer is its own. Prints one line of figures;
// exits 0 when every request got its own answer.
// Usage: routemq_request_caller PORT THREADS REQUESTS_PER_THREAD

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <routemq/client.hpp>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: routemq_request_caller PORT THREADS REQUESTS_PER_THREAD\n";
        return 2;
    }
    const routemq::env_map env = {{"MQTT_BROKER", "127.0.0.1"}, {"MQTT_PORT", argv[1]}};
    const auto s = routemq::load_settings({}, env);
    const int threads = std::atoi(argv[2]);
    const int each = std::atoi(argv[3]);
    routemq::client caller(s, {.name = "itest-caller"});
    std::vector<int> mismatched(static_cast<std::size_t>(threads), 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                const auto id = std::to_string(t) + "-" + std::to_string(i);
                const auto r =
                    caller.request("test/request/" + id, "q" + id, std::chrono::seconds(10));
                if (!r.answered || r.status != "done" ||
                    nlohmann::json::parse(r.payload).value("id", "") != id) {
                    ++mismatched[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    int bad = 0;
    for (int m : mismatched) {
        bad += m;
    }
    std::cout << "requests " << threads * each << " wrong_or_missing " << bad << "\n";
    return bad == 0 ? 0 : 1;
}
