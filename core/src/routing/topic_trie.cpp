#include "routing/topic_trie.hpp"

#include <algorithm>

#include "routing/levels.hpp"

namespace routemq::detail {
namespace {

constexpr std::string_view kSingleLevel = "+";
constexpr std::string_view kMultiLevel = "#";

}  // namespace

void topic_trie::insert(std::string_view filter, std::size_t value) {
    node* n = &root_;
    std::string_view rest = filter;
    bool done = false;
    std::string_view level;
    while (next_level(rest, done, level)) {
        if (level == kMultiLevel) {
            // filter_matches stops at the first '#', so whatever follows it never matters.
            n->rest_values.push_back(value);
            return;
        }
        if (level == kSingleLevel) {
            if (!n->plus) {
                n->plus = std::make_unique<node>();
            }
            n = n->plus.get();
            continue;
        }
        auto it = n->children.find(level);
        if (it == n->children.end()) {
            it = n->children.emplace(std::string(level), std::make_unique<node>()).first;
        }
        n = it->second.get();
    }
    n->values.push_back(value);
}

void topic_trie::match(std::string_view topic, std::vector<std::size_t>& out) const {
    const auto first = out.size();
    // MQTT keeps '$' topics away from filters that start with a wildcard, so the root's `+` and
    // `#` slots are skipped for them; deeper wildcards are unaffected.
    const bool dollar = !topic.empty() && topic.front() == '$';
    if (!dollar) {
        out.insert(out.end(), root_.rest_values.begin(), root_.rest_values.end());
    }
    std::string_view rest = topic;
    bool done = false;
    std::string_view level;
    next_level(rest, done, level);  // every topic, even "", has a first level
    if (auto it = root_.children.find(level); it != root_.children.end()) {
        collect(*it->second, rest, done, out);
    }
    if (!dollar && root_.plus) {
        collect(*root_.plus, rest, done, out);
    }
    if (out.size() - first > 1) {
        std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
        out.erase(std::unique(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()),
                  out.end());
    }
}

bool topic_trie::empty() const noexcept {
    return root_.children.empty() && !root_.plus && root_.values.empty() &&
           root_.rest_values.empty();
}

// Recursion depth is bounded by the depth of the stored filters, not by the topic, because the
// walk only descends where a child exists.
void topic_trie::collect(const node& n, std::string_view rest, bool done,
                         std::vector<std::size_t>& out) {
    // `#` also matches its parent level, so these apply whether or not levels remain.
    out.insert(out.end(), n.rest_values.begin(), n.rest_values.end());
    std::string_view level;
    if (!next_level(rest, done, level)) {
        out.insert(out.end(), n.values.begin(), n.values.end());
        return;
    }
    if (!n.children.empty()) {
        if (auto it = n.children.find(level); it != n.children.end()) {
            collect(*it->second, rest, done, out);
        }
    }
    if (n.plus) {
        collect(*n.plus, rest, done, out);
    }
}

}  // namespace routemq::detail
