// The topic trie (core/src/routing/topic_trie.cpp) against the linear matcher: the input decodes
// to a set of valid MQTT filters (few level names, so that they share prefixes, with `+`, `#`,
// empty and `$` levels) and topics, half of them made by filling in a filter's wildcards. For
// every topic the trie must return exactly the indexes of the filters routemq::filter_matches
// accepts, ascending and once each, appended after what `out` held; any difference aborts with
// the filters and the topic.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "routemq/pattern.hpp"
#include "routing/topic_trie.hpp"

namespace {

constexpr std::size_t kMaxFilters = 24;
constexpr std::size_t kMaxTopics = 16;
constexpr std::size_t kMaxLevels = 6;
/// Already in `out` before a match: the trie must append after them and leave them alone.
const std::vector<std::size_t> kBefore = {SIZE_MAX, 7};

using values = std::vector<std::size_t>;

/// A topic level: mostly one of a few names (so that filters and topics meet), otherwise any
/// bytes a topic level may hold (no '/', no wildcard, no NUL).
std::string level_name(FuzzedDataProvider& in) {
    static const char* const kNames[] = {"", "a", "b", "ab", "$SYS", "$", "a b"};
    constexpr std::size_t kCount = sizeof(kNames) / sizeof(kNames[0]);
    const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, kCount);
    if (pick < kCount) {
        return kNames[pick];
    }
    auto s = in.ConsumeRandomLengthString(8);
    std::erase_if(s, [](char c) { return c == '/' || c == '+' || c == '#' || c == '\0'; });
    return s;
}

std::string make_filter(FuzzedDataProvider& in) {
    std::string filter;
    const auto levels = in.ConsumeIntegralInRange<std::size_t>(1, kMaxLevels);
    for (std::size_t i = 0; i < levels; ++i) {
        if (i != 0) {
            filter += '/';
        }
        const auto kind = in.ConsumeIntegralInRange(0, 3);
        if (kind == 0) {
            filter += '+';
        } else if (kind == 1) {
            filter += '#';
            break;
        } else {
            filter += level_name(in);
        }
    }
    return filter;
}

std::string make_topic(FuzzedDataProvider& in) {
    std::string topic;
    const auto levels = in.ConsumeIntegralInRange<std::size_t>(1, kMaxLevels + 1);
    for (std::size_t i = 0; i < levels; ++i) {
        if (i != 0) {
            topic += '/';
        }
        topic += level_name(in);
    }
    return topic;
}

/// `filter` with its wildcards filled in: `+` by one level, `#` by none to three.
std::string fill_in(std::string_view filter, FuzzedDataProvider& in) {
    std::string topic;
    std::size_t start = 0;
    bool first = true;
    while (start <= filter.size()) {
        auto slash = filter.find('/', start);
        if (slash == std::string_view::npos) {
            slash = filter.size();
        }
        const auto level = filter.substr(start, slash - start);
        if (level == "#") {
            const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 3);
            for (std::size_t k = 0; k < n; ++k) {
                topic += first ? "" : "/";
                topic += level_name(in);
                first = false;
            }
            break;
        }
        topic += first ? "" : "/";
        topic += level == "+" ? level_name(in) : std::string(level);
        first = false;
        start = slash + 1;
    }
    return topic;
}

std::string show(const values& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i == 0 ? "" : ", ") + std::to_string(v[i]);
    }
    return out + "}";
}

[[noreturn]] void disagree(const std::vector<std::string>& filters, std::string_view topic,
                           const values& trie, const values& linear) {
    std::fprintf(stderr, "topic_trie disagrees with filter_matches\nfilters:\n");
    for (std::size_t i = 0; i < filters.size(); ++i) {
        std::fprintf(stderr, "  [%zu] '%s'\n", i, filters[i].c_str());
    }
    std::fprintf(stderr, "topic: '%.*s'\ntrie (after the %zu values already in out): %s\n",
                 static_cast<int>(topic.size()), topic.data(), kBefore.size(), show(trie).c_str());
    std::fprintf(stderr, "filter_matches: %s\n", show(linear).c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    std::vector<std::string> filters(in.ConsumeIntegralInRange<std::size_t>(0, kMaxFilters));
    routemq::detail::topic_trie trie;
    for (std::size_t i = 0; i < filters.size(); ++i) {
        filters[i] = make_filter(in);
        trie.insert(filters[i], i);
    }
    if (trie.empty() != filters.empty()) {
        disagree(filters, "(none: empty() is wrong)", {}, {});
    }
    for (std::size_t t = 0; t < kMaxTopics && in.remaining_bytes() > 0; ++t) {
        const bool from_filter = !filters.empty() && in.ConsumeBool();
        const auto topic =
            from_filter
                ? fill_in(filters[in.ConsumeIntegralInRange<std::size_t>(0, filters.size() - 1)],
                          in)
                : make_topic(in);
        values linear;
        for (std::size_t i = 0; i < filters.size(); ++i) {
            if (routemq::filter_matches(filters[i], topic)) {
                linear.push_back(i);
            }
        }
        values out = kBefore;
        trie.match(topic, out);
        const values before(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(kBefore.size()));
        const values found(out.begin() + static_cast<std::ptrdiff_t>(kBefore.size()), out.end());
        if (before != kBefore || found != linear) {
            disagree(filters, topic, found, linear);
        }
    }
    return 0;
}
