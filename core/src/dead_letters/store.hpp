#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letters/dead_letter.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// What a store connection reads.
struct store_options {
    /// Ends its client ids (`<pod id>-<name>-<pid>`): who it is in the broker's log.
    std::string name = "dead-letters";
    /// One dead letter (its id), or every one (empty).
    std::string id = {};
    /// Keep each payload (show, replay), or only its size (an index).
    bool keep_payloads = false;
    std::shared_ptr<spdlog::logger> log = spdlog::default_logger();
};

/// The application's kept dead letters, as the broker holds them: a connection subscribed to
/// the store (dead_letter.hpp) receives every kept dead letter at once (they are retained), then
/// each new one and each removal as it happens, and indexes them. It replays and removes them
/// over a second connection whose publishes it waits for. Thread-safe.
class dead_letter_store {
public:
    /// Starts connecting and returns at once; throws routemq::error on bad settings.
    dead_letter_store(const settings& s, store_options options);
    ~dead_letter_store();
    dead_letter_store(const dead_letter_store&) = delete;
    dead_letter_store& operator=(const dead_letter_store&) = delete;

    /// Waits until every dead letter kept when it subscribed has arrived (the broker sends them
    /// before a marker this connection publishes to itself after subscribing); false when
    /// `timeout` passed first.
    bool wait_loaded(std::chrono::milliseconds timeout);
    /// The same, throwing routemq::mqtt_error (naming the broker) when `timeout` passed first.
    void load(std::chrono::milliseconds timeout);
    bool loaded() const;

    /// Oldest first.
    std::vector<dead_letter> list(const dead_letter_filter& filter = {}) const;
    std::optional<dead_letter> find(std::string_view id) const;
    std::size_t size() const;

    /// Publishes `d` again to its original topic with its original properties (QoS 1), waits
    /// until the broker took it and had a subscriber for it, then removes it from the store (an
    /// empty retained message, also waited for). A crash in between leaves it kept: it may be
    /// replayed twice, never lost. Returns why it was not replayed, empty when it was. Needs a
    /// store that keeps payloads.
    std::string replay(const dead_letter& d);
    /// Removes one dead letter (waited for); returns why it could not, empty when done.
    std::string purge(std::string_view id);
    /// Removes the oldest until at most `max` are kept; returns how many it removed.
    std::size_t evict(std::size_t max);

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq::detail
