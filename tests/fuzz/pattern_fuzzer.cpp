// Route patterns (core/src/routing/pattern.cpp): any bytes either compile or throw
// routemq::pattern_error naming the pattern (a NUL as \0) before the reason. A compiled pattern has
// a well-formed MQTT filter that mirrors it level by level; it matches exactly the topics that
// filter matches (routemq::filter_matches), including every topic made by filling in the filter's
// wildcards; its params are the topic's levels at the `{name}` levels, in order, as views into the
// topic; a failed match leaves params as they were. One topic matching two patterns means
// routemq::filters_overlap says their filters overlap.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routemq/errors.hpp"
#include "routemq/pattern.hpp"

namespace {

constexpr std::size_t kMaxText = 256;
constexpr std::size_t kMaxTopics = 16;
/// A pattern of one capture whose name is none of `p`'s: matched before `p`, it puts one value in
/// params that a failed match must leave alone and a successful one append after, and at/get/
/// contains still find `p`'s captures. (Params are filled by matching only; they point into the
/// pattern, which must outlive them.)
routemq::pattern sentinel_for(const routemq::pattern& p) {
    std::string name = "sentinel";
    while (std::find(p.param_names().begin(), p.param_names().end(), name) !=
           p.param_names().end()) {
        name += '_';
    }
    return routemq::pattern("{" + name + "}");
}

[[noreturn]] void fail(std::string_view what, std::string_view pattern, std::string_view topic) {
    std::fprintf(stderr, "pattern fuzzer: %.*s\n  pattern: '%.*s'\n  topic: '%.*s'\n",
                 static_cast<int>(what.size()), what.data(), static_cast<int>(pattern.size()),
                 pattern.data(), static_cast<int>(topic.size()), topic.data());
    std::abort();
}

/// Splits on '/' keeping empty levels, as MQTT does (written here independently of the project).
std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t slash; (slash = s.find('/', start)) != std::string_view::npos;
         start = slash + 1) {
        out.push_back(s.substr(start, slash - start));
    }
    out.push_back(s.substr(start));
    return out;
}

bool is_capture(std::string_view level) {
    return level.size() >= 2 && level.front() == '{' && level.back() == '}';
}

std::optional<routemq::pattern> compile(const std::string& text) {
    try {
        return routemq::pattern(text);
    } catch (const routemq::pattern_error& e) {
        // Named in quotes, a NUL shown as \0 (what() ends at a NUL), and followed by the reason.
        std::string named = "'";
        for (char c : text) {
            named += c == '\0' ? std::string("\\0") : std::string(1, c);
        }
        named += "': ";
        if (std::string_view(e.what()).find(named) == std::string_view::npos) {
            fail("the pattern_error does not name the pattern before its reason", text, e.what());
        }
        return std::nullopt;
    }
}

/// The filter mirrors the pattern level by level, and the names are its `{name}` levels.
void check_compiled(const routemq::pattern& p) {
    const auto& text = p.text();
    if (text.empty() || text.front() == '$' || text.find('\0') != std::string::npos) {
        fail("compiled a pattern that is empty, starts with '$' or holds a NUL", text, "");
    }
    const auto levels = split(text);
    const auto filter = split(p.filter());
    if (levels.size() != filter.size()) {
        fail("the filter has a different number of levels: " + p.filter(), text, "");
    }
    std::vector<std::string_view> names;
    for (std::size_t i = 0; i < levels.size(); ++i) {
        const auto level = levels[i];
        std::string_view want = level;
        if (level == "#" && i + 1 != levels.size()) {
            fail("compiled a '#' that is not last", text, "");
        }
        if (is_capture(level)) {
            names.push_back(level.substr(1, level.size() - 2));
            want = "+";
        } else if (level != "+" && level != "#" &&
                   level.find_first_of("+#{}") != std::string_view::npos) {
            fail("compiled a level with a partial wildcard or brace", text, "");
        }
        if (filter[i] != want) {
            fail("the filter does not mirror the pattern: " + p.filter(), text, "");
        }
    }
    if (!std::equal(names.begin(), names.end(), p.param_names().begin(), p.param_names().end())) {
        fail("param_names are not the {name} levels in order", text, "");
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty() || std::count(names.begin(), names.end(), names[i]) != 1) {
            fail("compiled an empty or duplicate parameter name", text, "");
        }
    }
    if (!routemq::filters_overlap(p.filter(), p.filter())) {
        fail("a filter does not overlap itself", text, "");
    }
}

void check_topic(const routemq::pattern& p, std::string_view topic) {
    const auto sentinel = sentinel_for(p);
    routemq::params out;
    sentinel.match("x", out);
    const bool matched = p.match(topic, out);
    if (matched != routemq::filter_matches(p.filter(), topic)) {
        fail(matched ? "matches a topic its filter does not" : "misses a topic its filter matches",
             p.text(), topic);
    }
    if (p.matches(topic) != matched) {
        fail("match() and matches() disagree", p.text(), topic);
    }
    if (!matched) {
        if (out.size() != 1) {
            fail("a failed match left params behind", p.text(), topic);
        }
        return;
    }
    if (out.size() != 1 + p.param_names().size()) {
        fail("captured a different number of params than the pattern names", p.text(), topic);
    }
    const auto pattern_levels = split(p.text());
    const auto topic_levels = split(topic);
    auto it = out.begin() + 1;
    for (std::size_t i = 0; i < pattern_levels.size(); ++i) {
        if (!is_capture(pattern_levels[i])) {
            continue;
        }
        const auto name = pattern_levels[i].substr(1, pattern_levels[i].size() - 2);
        const auto value = it->second;
        if (it->first != name || i >= topic_levels.size() || value != topic_levels[i]) {
            fail("a param is not the topic's level at its {name}", p.text(), topic);
        }
        if (value.data() < topic.data() ||
            value.data() + value.size() > topic.data() + topic.size()) {
            fail("a param does not point into the topic", p.text(), topic);
        }
        if (out.at(name) != value || out.get(name) != value || !out.contains(name)) {
            fail("at/get/contains disagree with the captured value", p.text(), topic);
        }
        ++it;
    }
}

/// Strips '/' so that the text fills exactly one level.
std::string level_text(FuzzedDataProvider& in) {
    auto s = in.ConsumeRandomLengthString(16);
    s.erase(std::remove(s.begin(), s.end(), '/'), s.end());
    return s;
}

/// A topic made from `p`'s filter with its wildcards filled in: `p` must match it, except a '$'
/// topic under a leading wildcard (MQTT keeps those apart).
std::string instantiate(const routemq::pattern& p, FuzzedDataProvider& in) {
    std::string topic;
    const auto filter = split(p.filter());
    for (std::size_t i = 0; i < filter.size(); ++i) {
        if (filter[i] == "#") {
            // '#' also matches the parent level: no levels at all is a match too.
            const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 3);
            for (std::size_t k = 0; k < n; ++k) {
                if (i + k != 0) {
                    topic += '/';
                }
                topic += level_text(in);
            }
            break;
        }
        if (i != 0) {
            topic += '/';
        }
        topic += filter[i] == "+" ? level_text(in) : std::string(filter[i]);
    }
    const bool dollar = !topic.empty() && topic.front() == '$';
    const bool leading_wildcard = filter[0] == "+" || filter[0] == "#";
    if (!(dollar && leading_wildcard) && !p.matches(topic)) {
        fail("misses a topic made by filling in its own filter", p.text(), topic);
    }
    return topic;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    std::vector<routemq::pattern> patterns;
    for (int i = 0; i < 2; ++i) {
        if (auto p = compile(in.ConsumeRandomLengthString(kMaxText))) {
            check_compiled(*p);
            patterns.push_back(std::move(*p));
        }
    }
    std::vector<std::string> topics;
    while (in.remaining_bytes() > 0 && topics.size() < kMaxTopics) {
        const auto from = in.ConsumeIntegralInRange<std::size_t>(0, patterns.size());
        topics.push_back(from == patterns.size() ? in.ConsumeRandomLengthString(kMaxText)
                                                 : instantiate(patterns[from], in));
    }
    for (const auto& topic : topics) {
        for (const auto& p : patterns) {
            check_topic(p, topic);
        }
        if (patterns.size() == 2 && patterns[0].matches(topic) && patterns[1].matches(topic) &&
            !(routemq::filters_overlap(patterns[0].filter(), patterns[1].filter()) &&
              routemq::filters_overlap(patterns[1].filter(), patterns[0].filter()))) {
            fail("a topic matches both patterns but filters_overlap says no",
                 patterns[0].text() + "' and '" + patterns[1].text(), topic);
        }
    }
    return 0;
}
