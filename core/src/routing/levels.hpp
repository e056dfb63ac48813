#pragma once

#include <string_view>

namespace routemq::detail {

/// Takes the next topic level off `rest` (which shrinks), or returns false when none is left.
/// Levels are split on '/' keeping empty ones: "a/" has a second, empty level and "" has one
/// empty level, as MQTT counts them. Pattern matching and the topic trie both split this way.
inline bool next_level(std::string_view& rest, bool& done, std::string_view& out) {
    if (done) {
        return false;
    }
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        out = rest;
        done = true;
    } else {
        out = rest.substr(0, slash);
        rest.remove_prefix(slash + 1);
    }
    return true;
}

}  // namespace routemq::detail
