#include "dead_letters/keeper.hpp"

#include <condition_variable>
#include <mutex>

#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

using namespace std::chrono_literals;

/// How often the keeper bounds the store and counts it.
constexpr auto kKeeperTurn = 1s;
/// How long a dashboard's show or replay waits to read its dead letter from the broker.
constexpr auto kFetchTimeout = 10s;

/// Each show or replay opens two connections and holds an HTTP thread (the probes' too) for up
/// to kFetchTimeout: one at a time.
class one_at_a_time {
public:
    explicit one_at_a_time(std::atomic<bool>& busy) : busy_(busy), mine_(!busy.exchange(true)) {}
    ~one_at_a_time() {
        if (mine_) {
            busy_.store(false);
        }
    }
    explicit operator bool() const noexcept { return mine_; }

private:
    std::atomic<bool>& busy_;
    bool mine_;
};

}  // namespace

std::optional<dead_letter> fetch_dead_letter(const settings& s, const std::string& id,
                                             const std::string& name) {
    dead_letter_store one(s, {.name = name, .id = id, .keep_payloads = true});
    one.load(kFetchTimeout);
    return one.find(id);
}

dead_letter_keeper::dead_letter_keeper(const settings& s, const router& r,
                                       std::shared_ptr<pod_region> pod)
    : settings_(s), router_(r), pod_(std::move(pod)) {
    if (s.handling.dead_letter_max == 0 || s.mqtt.protocol != mqtt_protocol::v5) {
        return;
    }
    store_ = std::make_unique<dead_letter_store>(s, store_options{.name = "dead-letters"});
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

dead_letter_keeper::~dead_letter_keeper() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
}

void dead_letter_keeper::run(std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    auto& cells = pod_->manager();
    std::string last_problem;
    while (!stop.stop_requested()) {
        try {
            const bool loaded = store_->loaded() || store_->wait_loaded(kKeeperTurn);
            if (cells.dead_letters_loaded.exchange(loaded ? 1 : 0) == 0 && loaded) {
                spdlog::info("dead-letter store: {} kept on '{}' (at most {})", store_->size(),
                             dead_letter_store_filter(settings_.mqtt),
                             settings_.handling.dead_letter_max);
            }
            if (loaded) {
                const auto evicted = store_->evict(settings_.handling.dead_letter_max);
                if (evicted > 0) {
                    cells.dead_letters_evicted.fetch_add(evicted);
                    spdlog::warn(
                        "dead-letter store: removed the {} oldest dead letters, over "
                        "DEAD_LETTER_MAX {}",
                        evicted, settings_.handling.dead_letter_max);
                }
                cells.dead_letters_kept.store(store_->size());
            }
            last_problem.clear();
        } catch (const std::exception& e) {
            if (e.what() != last_problem) {  // once per problem, not once per turn
                last_problem = e.what();
                spdlog::error("dead-letter store: {}; trying again every {} s", last_problem,
                              kKeeperTurn.count());
            }
        }
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, kKeeperTurn, [] { return false; });
    }
}

nlohmann::json dead_letter_keeper::list_json(const dead_letter_filter& filter) const {
    const auto& cells = pod_->manager();
    auto items = nlohmann::json::array();
    if (store_) {
        const auto all = store_->list(filter);
        for (auto it = all.rbegin(); it != all.rend(); ++it) {
            items.push_back(to_json(*it, false));
        }
    }
    return {{"kept", cells.dead_letters_kept.load()},
            {"max", settings_.handling.dead_letter_max},
            {"evicted", cells.dead_letters_evicted.load()},
            {"available", cells.dead_letters_loaded.load() != 0},
            {"items", std::move(items)}};
}

std::optional<nlohmann::json> dead_letter_keeper::show_json(const std::string& id) const {
    if (!store_) {
        return std::nullopt;
    }
    const one_at_a_time turn(busy_);
    if (!turn) {
        throw error("another show or replay is under way; try again in a moment");
    }
    const auto d = fetch_dead_letter(settings_, id, "dashboard");
    if (!d) {
        return std::nullopt;
    }
    return to_json(*d, true);
}

std::string dead_letter_keeper::replay(const std::string& id) const {
    if (!store_) {
        return "the dead-letter store is off (DEAD_LETTER_MAX=0, or MQTT_PROTOCOL is not 5)";
    }
    const one_at_a_time turn(busy_);
    if (!turn) {
        return "another show or replay is under way; try again in a moment";
    }
    std::optional<dead_letter> d;
    try {
        d = fetch_dead_letter(settings_, id, "dashboard");
    } catch (const std::exception& e) {
        return e.what();
    }
    if (!d) {
        return fmt::format("dead letter {} is not kept (replayed or purged already?)", id);
    }
    if (auto problem = replay_problem(router_, *d); !problem.empty()) {
        return problem;
    }
    return store_->replay(*d);  // the index's own connections: removed from the index at once
}

std::string dead_letter_keeper::purge(const std::string& id) const {
    if (!store_) {
        return "the dead-letter store is off (DEAD_LETTER_MAX=0, or MQTT_PROTOCOL is not 5)";
    }
    if (!store_->find(id)) {
        return fmt::format("dead letter {} is not kept (replayed or purged already?)", id);
    }
    return store_->purge(id);
}

}  // namespace routemq::detail
