#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "dead_letters/store.hpp"
#include "pod/pod_region.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// The pod's view of its dead-letter store, kept by the manager (or the single process) on a
/// thread of its own: an index of every kept dead letter, live; the oldest removed beyond
/// DEAD_LETTER_MAX (counted in the pod region, as the index's size is); and the dashboard's
/// list, show, replay and purge. Every replica's manager keeps one: each removes the same oldest
/// dead letters, which is harmless, and counts them as its own evictions.
class dead_letter_keeper {
public:
    /// Starts connecting; nothing when DEAD_LETTER_MAX is 0 or MQTT_PROTOCOL is 3.1.1.
    /// `r`: the application's routes, the only topics it replays to (replay_problem).
    dead_letter_keeper(const settings& s, const router& r, std::shared_ptr<pod_region> pod);
    ~dead_letter_keeper();
    dead_letter_keeper(const dead_letter_keeper&) = delete;
    dead_letter_keeper& operator=(const dead_letter_keeper&) = delete;

    bool enabled() const noexcept { return store_ != nullptr; }

    /// `{kept, max, evicted, available, items: [...]}`, newest first.
    nlohmann::json list_json(const dead_letter_filter& filter) const;
    /// One dead letter with its payload and properties (read anew from the broker), or nothing.
    std::optional<nlohmann::json> show_json(const std::string& id) const;
    /// Why it was not replayed or purged; empty when it was.
    std::string replay(const std::string& id) const;
    std::string purge(const std::string& id) const;

private:
    void run(std::stop_token stop);

    settings settings_;
    const router& router_;
    std::shared_ptr<pod_region> pod_;
    std::unique_ptr<dead_letter_store> store_;
    /// A show or replay is under way (they run one at a time).
    mutable std::atomic<bool> busy_{false};
    std::jthread thread_;
};

/// One dead letter read with its payload from the broker; nothing when it is not kept.
std::optional<dead_letter> fetch_dead_letter(const settings& s, const std::string& id,
                                             const std::string& name);

}  // namespace routemq::detail
