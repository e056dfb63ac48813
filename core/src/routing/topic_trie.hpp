#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace routemq::detail {

/// MQTT filters indexed by level, so that finding the filters a topic matches costs one walk of
/// the topic's levels rather than a match per filter.
///
/// Agrees with routemq::filter_matches on every filter and topic: levels split on '/' keeping
/// empty ones, `+` matches one level (empty included), `#` matches the rest including the parent
/// level itself, and a topic starting with '$' is not matched by a filter whose first level is a
/// wildcard.
class topic_trie {
public:
    /// Stores `value` under `filter` (an MQTT topic filter; the caller has validated it).
    void insert(std::string_view filter, std::size_t value);
    /// Appends to `out` the values of every filter that matches `topic`, each value once, in
    /// ascending order.
    void match(std::string_view topic, std::vector<std::size_t>& out) const;
    bool empty() const noexcept;

private:
    /// Lets `find(std::string_view)` work without building a std::string per level.
    struct level_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    struct node {
        // A hash map rather than a sorted vector: one level (often the root) can fan out to
        // thousands of device or area names, and a hash keeps both lookup and insert O(1) there,
        // while an empty map costs no allocation in the many leaf-ish nodes.
        std::unordered_map<std::string, std::unique_ptr<node>, level_hash, std::equal_to<>>
            children;
        std::unique_ptr<node> plus;
        std::vector<std::size_t> values;       // filters ending at this node
        std::vector<std::size_t> rest_values;  // filters ending in `#` below this node
    };

    static void collect(const node& n, std::string_view rest, bool done,
                        std::vector<std::size_t>& out);

    node root_;
};

}  // namespace routemq::detail
