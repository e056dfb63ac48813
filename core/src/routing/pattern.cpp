#include "routemq/pattern.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "routemq/errors.hpp"
#include "routing/levels.hpp"

namespace routemq {
namespace {

using detail::next_level;

/// Splits on '/' keeping empty levels, as MQTT does.
std::vector<std::string_view> split_levels(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        auto slash = s.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, slash - start));
        start = slash + 1;
    }
}

/// The pattern as an error message shows it: a NUL as `\0`, since what() is read as a C string
/// and would end at the NUL, before the reason.
std::string shown(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\0') {
            out += "\\0";
        } else {
            out += c;
        }
    }
    return out;
}

bool valid_param_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

}  // namespace

std::string_view params::at(std::string_view name) const {
    for (const auto& [n, v] : items_) {
        if (n == name) {
            return v;
        }
    }
    throw error(fmt::format("no route parameter named '{}'", name));
}

std::string_view params::get(std::string_view name) const noexcept {
    for (const auto& [n, v] : items_) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

bool params::contains(std::string_view name) const noexcept {
    return std::any_of(items_.begin(), items_.end(),
                       [&](const auto& p) { return p.first == name; });
}

pattern::pattern(std::string text) : text_(std::move(text)) {
    auto fail = [this](std::string_view why) {
        throw pattern_error(fmt::format("invalid route pattern '{}': {}", shown(text_), why));
    };
    if (text_.empty()) {
        fail("it is empty");
    }
    if (text_.front() == '$') {
        fail(
            "patterns may not start with '$' (broker-reserved topics; shared routes use the "
            "'shared' option)");
    }
    if (text_.find('\0') != std::string::npos) {
        fail("it contains a NUL character");
    }
    auto parts = split_levels(text_);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto part = parts[i];
        if (part == "#") {
            if (i + 1 != parts.size()) {
                fail("'#' must be the last level");
            }
            levels_.push_back({kind::rest, {}});
        } else if (part == "+") {
            levels_.push_back({kind::single, {}});
        } else if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
            auto name = part.substr(1, part.size() - 2);
            if (!valid_param_name(name)) {
                fail(fmt::format(
                    "parameter name '{}' must be non-empty letters, digits, '_' or '-'", name));
            }
            if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
                fail(fmt::format("parameter '{}' appears twice", name));
            }
            names_.emplace_back(name);
            levels_.push_back({kind::capture, std::string(name)});
        } else {
            if (part.find_first_of("{}") != std::string_view::npos) {
                fail(fmt::format("level '{}' must be a whole '{{name}}' or contain no braces",
                                 part));
            }
            if (part.find_first_of("+#") != std::string_view::npos) {
                fail(fmt::format("wildcard in level '{}' must occupy the whole level", part));
            }
            levels_.push_back({kind::literal, std::string(part)});
        }
    }
    for (std::size_t i = 0; i < levels_.size(); ++i) {
        if (i != 0) {
            filter_ += '/';
        }
        switch (levels_[i].k) {
            case kind::literal:
                filter_ += levels_[i].text;
                break;
            case kind::capture:
            case kind::single:
                filter_ += '+';
                break;
            case kind::rest:
                filter_ += '#';
                break;
        }
    }
}

bool pattern::match(std::string_view topic, params& out) const {
    if (!topic.empty() && topic.front() == '$' && levels_.front().k != kind::literal) {
        return false;
    }
    const auto mark = out.size();
    std::string_view rest = topic;
    bool done = false;
    std::string_view part;
    for (const auto& lv : levels_) {
        if (lv.k == kind::rest) {
            return true;  // '#' also matches the parent level: `a/#` matches `a`
        }
        if (!next_level(rest, done, part) || (lv.k == kind::literal && part != lv.text)) {
            out.truncate(mark);
            return false;
        }
        if (lv.k == kind::capture) {
            out.add(lv.text, part);
        }
    }
    if (!done) {
        out.truncate(mark);
    }
    return done;
}

bool pattern::matches(std::string_view topic) const {
    params scratch;
    return match(topic, scratch);
}

bool filter_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#')) {
        return false;
    }
    std::string_view frest = filter;
    std::string_view trest = topic;
    bool fdone = false;
    bool tdone = false;
    std::string_view f;
    std::string_view t;
    while (next_level(frest, fdone, f)) {
        if (f == "#") {
            return true;
        }
        if (!next_level(trest, tdone, t)) {
            return false;
        }
        if (f != "+" && f != t) {
            return false;
        }
    }
    return tdone;
}

bool filters_overlap(std::string_view a, std::string_view b) {
    auto la = split_levels(a);
    auto lb = split_levels(b);
    auto dollar = [](std::string_view first) { return !first.empty() && first.front() == '$'; };
    auto wild = [](std::string_view lv) { return lv == "+" || lv == "#"; };
    if ((dollar(la[0]) && wild(lb[0])) || (dollar(lb[0]) && wild(la[0]))) {
        return false;
    }
    std::size_t i = 0;
    for (; i < la.size() && i < lb.size(); ++i) {
        if (la[i] == "#" || lb[i] == "#") {
            return true;
        }
        if (la[i] != "+" && lb[i] != "+" && la[i] != lb[i]) {
            return false;
        }
    }
    if (la.size() == lb.size()) {
        return true;
    }
    // One is longer: only a trailing '#' on the longer one matches the shorter's topic.
    const auto& longer = la.size() > lb.size() ? la : lb;
    return i + 1 == longer.size() && longer[i] == "#";
}

}  // namespace routemq
