#include "routing/topic_trie.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <routemq/pattern.hpp>
#include <string>
#include <string_view>
#include <vector>

using routemq::detail::topic_trie;

namespace {

using values = std::vector<std::size_t>;

values match(const topic_trie& trie, std::string_view topic) {
    values out;
    trie.match(topic, out);
    return out;
}

/// A trie holding `filters`, each under its index.
topic_trie make_trie(const std::vector<std::string>& filters) {
    topic_trie trie;
    for (std::size_t i = 0; i < filters.size(); ++i) {
        trie.insert(filters[i], i);
    }
    return trie;
}

/// The indexes of `filters` that routemq::filter_matches says match `topic`.
values linear_match(const std::vector<std::string>& filters, std::string_view topic) {
    values out;
    for (std::size_t i = 0; i < filters.size(); ++i) {
        if (routemq::filter_matches(filters[i], topic)) {
            out.push_back(i);
        }
    }
    return out;
}

}  // namespace

TEST(TopicTrie, StartsEmpty) {
    topic_trie trie;
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(match(trie, "a/b"), values{});
    trie.insert("a/b", 0);
    EXPECT_FALSE(trie.empty());
}

TEST(TopicTrie, NotEmptyWithOnlyRootWildcards) {
    topic_trie hash;
    hash.insert("#", 0);
    EXPECT_FALSE(hash.empty());
    topic_trie plus;
    plus.insert("+", 0);
    EXPECT_FALSE(plus.empty());
}

TEST(TopicTrie, MatchesLiteralLevelsExactly) {
    auto trie = make_trie({"a/b", "a/b/c", "a", "b/a"});
    EXPECT_EQ(match(trie, "a/b"), values{0});
    EXPECT_EQ(match(trie, "a/b/c"), values{1});
    EXPECT_EQ(match(trie, "a"), values{2});
    EXPECT_EQ(match(trie, "a/c"), values{});
    EXPECT_EQ(match(trie, "a/b/c/d"), values{});
    EXPECT_EQ(match(trie, "ab"), values{});
}

TEST(TopicTrie, PlusMatchesExactlyOneLevel) {
    auto trie = make_trie({"a/+", "+/b", "+/+", "+"});
    EXPECT_EQ(match(trie, "a/b"), (values{0, 1, 2}));
    EXPECT_EQ(match(trie, "x/y"), values{2});
    EXPECT_EQ(match(trie, "a"), values{3});
    EXPECT_EQ(match(trie, "a/b/c"), values{});
}

TEST(TopicTrie, EmptyLevelsAreLevels) {
    auto trie = make_trie({"a//b", "a/+/b", "/a", "+/a", "a/", "a/+", "a"});
    EXPECT_EQ(match(trie, "a//b"), (values{0, 1}));
    EXPECT_EQ(match(trie, "a/b"), values{5});
    EXPECT_EQ(match(trie, "/a"), (values{2, 3}));
    EXPECT_EQ(match(trie, "a/"), (values{4, 5}));
    EXPECT_EQ(match(trie, "a"), values{6});
    EXPECT_EQ(match(trie, "a///b"), values{});
}

TEST(TopicTrie, PlusMatchesAnEmptyLevel) {
    auto trie = make_trie({"+", "+/+", "a/+/c"});
    EXPECT_EQ(match(trie, ""), values{0});
    EXPECT_EQ(match(trie, "/"), values{1});
    EXPECT_EQ(match(trie, "a//c"), values{2});
}

TEST(TopicTrie, EmptyTopicIsOneEmptyLevel) {
    auto trie = make_trie({"", "+", "#", "/", "/#", "a"});
    EXPECT_EQ(match(trie, ""), (values{0, 1, 2, 4}));
    EXPECT_EQ(match(trie, "/"), (values{2, 3, 4}));
}

TEST(TopicTrie, HashMatchesTheParentLevelAndEverythingBelow) {
    auto trie = make_trie({"a/#", "a/b/#", "#"});
    EXPECT_EQ(match(trie, "a"), (values{0, 2}));
    EXPECT_EQ(match(trie, "a/"), (values{0, 2}));
    EXPECT_EQ(match(trie, "a/b"), (values{0, 1, 2}));
    EXPECT_EQ(match(trie, "a/b/c/d"), (values{0, 1, 2}));
    EXPECT_EQ(match(trie, "b"), values{2});
    EXPECT_EQ(match(trie, "ab"), values{2});
}

TEST(TopicTrie, HashAfterPlus) {
    auto trie = make_trie({"+/#", "a/+/#"});
    EXPECT_EQ(match(trie, "a"), values{0});
    EXPECT_EQ(match(trie, "a/b"), (values{0, 1}));
    EXPECT_EQ(match(trie, "x/y/z"), values{0});
}

TEST(TopicTrie, DollarTopicsSkipLeadingWildcards) {
    auto trie = make_trie({"#", "+", "+/b", "+/#", "$sys/#", "$sys/+", "$sys", "a/+"});
    EXPECT_EQ(match(trie, "$sys"), (values{4, 6}));
    EXPECT_EQ(match(trie, "$sys/b"), (values{4, 5}));
    EXPECT_EQ(match(trie, "$x/b"), values{});
    EXPECT_EQ(match(trie, "$"), values{});
    EXPECT_EQ(match(trie, "x/b"), (values{0, 2, 3}));
    EXPECT_EQ(match(trie, "x"), (values{0, 1, 3}));
}

TEST(TopicTrie, DollarLaterInTheTopicIsOrdinary) {
    auto trie = make_trie({"+/$x", "#", "a/+"});
    EXPECT_EQ(match(trie, "a/$x"), (values{0, 1, 2}));
}

TEST(TopicTrie, ValuesComeOutOnceInAscendingOrder) {
    topic_trie trie;
    trie.insert("a/b", 7);
    trie.insert("a/+", 3);
    trie.insert("a/b", 7);
    trie.insert("#", 7);
    trie.insert("a/#", 1);
    EXPECT_EQ(match(trie, "a/b"), (values{1, 3, 7}));
}

TEST(TopicTrie, AppendsWithoutTouchingEarlierValues) {
    auto trie = make_trie({"a", "#"});
    values out{9, 2};
    trie.match("a", out);
    EXPECT_EQ(out, (values{9, 2, 0, 1}));
}

TEST(TopicTrie, ManySiblingsUnderTheRoot) {
    std::vector<std::string> filters;
    for (int i = 0; i < 1000; ++i) {
        filters.push_back("area" + std::to_string(i) + "/+/data");
    }
    auto trie = make_trie(filters);
    EXPECT_EQ(match(trie, "area500/42/data"), values{500});
    EXPECT_EQ(match(trie, "area500/42/other"), values{});
    EXPECT_EQ(match(trie, "area1000/42/data"), values{});
}

TEST(TopicTrie, AgreesWithFilterMatchesOnGeneratedInput) {
    std::mt19937 rng(20240611);
    const std::vector<std::string> alphabet{"a", "b", "", "$sys", "$x"};
    // Not uniform_int_distribution: its output differs between standard libraries, and a
    // failure should reproduce everywhere.
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto make_topic = [&](bool as_filter) {
        const auto levels = pick(6);  // 0-5; zero levels gives "", which MQTT reads as one
        std::string s;
        for (std::size_t i = 0; i < levels; ++i) {
            if (i != 0) {
                s += '/';
            }
            const auto choice = pick(as_filter ? alphabet.size() + 2 : alphabet.size());
            if (choice == alphabet.size()) {
                s += '+';
            } else if (choice == alphabet.size() + 1 && i + 1 == levels) {
                s += '#';
            } else if (choice == alphabet.size() + 1) {
                s += '+';
            } else {
                s += alphabet[choice];
            }
        }
        return s;
    };

    std::vector<std::string> filters;
    for (int i = 0; i < 3000; ++i) {
        filters.push_back(make_topic(true));
    }
    std::vector<std::string> topics;
    for (int i = 0; i < 3000; ++i) {
        topics.push_back(make_topic(false));
    }
    // Every topic made of the level alphabet with up to 3 levels, so no short shape is missed.
    topics.emplace_back();
    for (int levels = 1; levels <= 3; ++levels) {
        std::vector<std::size_t> digits(static_cast<std::size_t>(levels), 0);
        while (true) {
            std::string s;
            for (std::size_t i = 0; i < digits.size(); ++i) {
                s += (i != 0 ? "/" : "") + alphabet[digits[i]];
            }
            topics.push_back(s);
            std::size_t i = 0;
            while (i < digits.size() && ++digits[i] == alphabet.size()) {
                digits[i++] = 0;
            }
            if (i == digits.size()) {
                break;
            }
        }
    }

    const auto trie = make_trie(filters);
    std::size_t matched = 0;
    for (const auto& topic : topics) {
        auto expected = linear_match(filters, topic);
        matched += expected.size();
        ASSERT_EQ(match(trie, topic), expected) << "topic '" << topic << "'";
    }
    // Guards against a generator that never produces matches and so proves nothing.
    EXPECT_GT(matched, topics.size());
}
