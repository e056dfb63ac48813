// W3C Trace Context: parsing a `traceparent`, the spans of handler runs, what they publish and log.

#include "delivery/trace_context.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <routemq/context.hpp>
#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "delivery/context_access.hpp"
#include "logging.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_dispatcher.hpp"

using routemq::detail::parse_traceparent;

namespace {

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kParentId = "00f067aa0ba902b7";

bool valid(std::string_view value) {
    return parse_traceparent(value).has_value();
}

/// What the specification accepts, written another way: a regular expression for the version
/// 00 layout, then the rules it does not say.
bool reference_accepts(const std::string& value) {
    static const std::regex layout("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");
    if (value.size() < 55) {
        return false;
    }
    std::smatch m;
    const std::string head = value.substr(0, 55);
    const std::string tail = value.substr(55);
    if (!std::regex_match(head, m, layout)) {
        return false;
    }
    const bool zero_trace = m[2].str() == std::string(32, '0');
    const bool zero_parent = m[3].str() == std::string(16, '0');
    const bool tail_ok = tail.empty() || (m[1] != "00" && tail[0] == '-');
    return m[1] != "ff" && tail_ok && !zero_trace && !zero_parent;
}

bool is_hex_id(std::string_view text, std::size_t length) {
    return text.size() == length && text.find_first_not_of("0123456789abcdef") == text.npos &&
           text.find_first_not_of('0') != text.npos;
}

routemq::message with_properties(std::string topic, routemq::user_properties properties) {
    routemq::message m;
    m.topic = std::move(topic);
    m.user_properties = std::move(properties);
    return m;
}

}  // namespace

TEST(Traceparent, ParsesTheSpecificationsExample) {
    const auto f = parse_traceparent(kValid);
    ASSERT_TRUE(f);
    EXPECT_EQ(std::string(f->trace_id.data(), 32), kTraceId);
    EXPECT_EQ(std::string(f->parent_id.data(), 16), kParentId);
    EXPECT_EQ(std::string(f->flags.data(), 2), "01");
    EXPECT_TRUE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    EXPECT_TRUE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"));
}

TEST(Traceparent, RejectsWhatTheSpecificationRejects) {
    const std::string v = kValid;
    EXPECT_FALSE(valid(""));
    EXPECT_FALSE(valid(v.substr(0, 54)));  // too short
    EXPECT_FALSE(valid(v + "0"));          // version 00, too long
    EXPECT_FALSE(valid(v + "-"));          // version 00 has no more
    EXPECT_FALSE(valid(" " + v));          // nothing around it
    EXPECT_FALSE(valid(v + " "));
    EXPECT_FALSE(valid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));  // uppercase
    EXPECT_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"));  // not hex
    EXPECT_FALSE(valid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));  // zero trace
    EXPECT_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));  // zero parent
    EXPECT_FALSE(valid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));  // version ff
    EXPECT_FALSE(valid("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));  // separators
    EXPECT_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"));
    EXPECT_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"));
    EXPECT_FALSE(valid(std::string(kValid, 54) + '\0'));
}

TEST(Traceparent, ALaterVersionIsReadWithTheSameLayout) {
    EXPECT_TRUE(valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    EXPECT_TRUE(valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"));
    EXPECT_FALSE(valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what"));
}

TEST(Traceparent, AgreesWithAReferenceOnEveryOneByteChangeAndCut) {
    const std::string v = kValid;
    int accepted = 0;
    for (std::size_t at = 0; at < v.size(); ++at) {
        for (int byte = 0; byte < 256; ++byte) {
            auto changed = v;
            changed[at] = static_cast<char>(byte);
            ASSERT_EQ(valid(changed), reference_accepts(changed)) << changed;
            accepted += valid(changed) ? 1 : 0;
        }
        ASSERT_EQ(valid(v.substr(0, at)), reference_accepts(v.substr(0, at))) << at;
        auto longer = v;
        longer.insert(at, 1, '0');
        ASSERT_EQ(valid(longer), reference_accepts(longer)) << longer;
    }
    // Any lowercase hex digit in place of one of the 52 digits, '-' in place of a '-'.
    EXPECT_EQ(accepted, 52 * 16 + 3);
}

TEST(Traceparent, NeverAcceptsRandomBytesItShouldNot) {
    std::mt19937 random(13);
    std::uniform_int_distribution<int> length(0, 80);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::string alphabet = "0123456789abcdefABCDEF-f0 ";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int i = 0; i < 20000; ++i) {
        std::string s(static_cast<std::size_t>(length(random)), ' ');
        for (auto& c : s) {
            c = i % 2 == 0 ? static_cast<char>(byte(random)) : alphabet[pick(random)];
        }
        if (i % 4 == 1 && s.size() >= 53) {
            s[2] = s[35] = s[52] = '-';
        }
        ASSERT_EQ(valid(s), reference_accepts(s)) << s;
    }
}

TEST(TraceContext, AValidTraceparentIsContinuedWithItsTracestate) {
    const auto m = with_properties("t", {{"a", "1"},
                                         {"traceparent", kValid},
                                         {"tracestate", "vendor=x"},
                                         {"tracestate", "other=y"}});
    const auto t = routemq::detail::begin_trace(m, m.topic);
    EXPECT_EQ(t.trace_id_text(), kTraceId);
    EXPECT_EQ(t.parent_id_text(), kParentId);
    EXPECT_FALSE(t.has_span);
    EXPECT_EQ(t.tracestate_from, &m.user_properties);
}

TEST(TraceContext, AnAbsentInvalidOrRepeatedTraceparentStartsANewSampledTrace) {
    for (const auto& props : std::vector<routemq::user_properties>{
             {},
             {{"traceparent", "00-zz"}, {"tracestate", "vendor=x"}},
             {{"traceparent", kValid}, {"traceparent", kValid}},
             {{"Traceparent", kValid}}}) {
        const auto m = with_properties("t", props);
        const auto t = routemq::detail::begin_trace(m, m.topic);
        EXPECT_TRUE(is_hex_id(t.trace_id_text(), 32)) << t.trace_id_text();
        EXPECT_NE(t.trace_id_text(), kTraceId);
        EXPECT_FALSE(t.has_parent);
        EXPECT_TRUE(t.parent_id_text().empty());
        EXPECT_EQ(t.tracestate_from, nullptr);  // a tracestate means nothing without its parent
        EXPECT_EQ(std::string(t.flags.data(), 2), "01");
    }
}

TEST(TraceContext, SpansShareTheTraceAndHaveNewIdsEach) {
    const auto m = with_properties("t", {{"traceparent", kValid}});
    const auto delivery = routemq::detail::begin_trace(m, m.topic);
    const routemq::detail::trace_scope in_delivery(delivery);
    std::set<std::string> spans;
    for (int i = 0; i < 100; ++i) {
        const auto span = routemq::detail::start_span();
        EXPECT_EQ(span.trace_id_text(), kTraceId);
        EXPECT_EQ(span.parent_id_text(), kParentId);
        EXPECT_TRUE(is_hex_id(span.span_id_text(), 16)) << span.span_id_text();
        spans.insert(std::string(span.span_id_text()));
        const auto header = span.traceparent();
        EXPECT_EQ(header,
                  "00-" + std::string(kTraceId) + "-" + std::string(span.span_id_text()) + "-01");
        EXPECT_TRUE(valid(header)) << header;
    }
    EXPECT_EQ(spans.size(), 100u);
}

TEST(TraceContext, ScopesNestAndEnd) {
    EXPECT_EQ(routemq::detail::current_trace(), nullptr);
    const auto outer = routemq::detail::start_span();  // no current trace: a new one
    EXPECT_TRUE(is_hex_id(outer.trace_id_text(), 32));
    {
        const routemq::detail::trace_scope a(outer);
        const auto inner = routemq::detail::start_span();
        {
            const routemq::detail::trace_scope b(inner);
            EXPECT_EQ(routemq::detail::current_trace(), &inner);
        }
        EXPECT_EQ(routemq::detail::current_trace(), &outer);
        EXPECT_EQ(inner.trace_id_text(), outer.trace_id_text());
        EXPECT_NE(inner.span_id_text(), outer.span_id_text());
    }
    EXPECT_EQ(routemq::detail::current_trace(), nullptr);
}

TEST(TracingOutbox, AddsTheCurrentSpanOnlyWhileThereIsOne) {
    test::recording_publisher rec;
    routemq::detail::tracing_outbox out(rec);
    out.publish("before", "x", 1, false);
    const auto m = with_properties("t", {{"traceparent", kValid}, {"tracestate", "v=1"}});
    const auto delivery = routemq::detail::begin_trace(m, m.topic);
    const routemq::detail::trace_scope in_delivery(delivery);
    out.publish("delivery", "x", 1, false);  // no span yet: nothing to name as parent
    {
        const auto span = routemq::detail::start_span();
        const routemq::detail::trace_scope in_span(span);
        out.publish("plain", "x", 1, false);
        routemq::detail::publish_properties p;
        p.user_properties = {{"routemq-status", "done"}};
        p.correlation_data = "c";
        out.publish("with", "x", 1, false, p);
        ASSERT_EQ(rec.messages.size(), 4u);
        EXPECT_EQ(
            rec.messages[2].properties,
            (routemq::user_properties{{"traceparent", span.traceparent()}, {"tracestate", "v=1"}}));
        EXPECT_EQ(rec.messages[3].properties,
                  (routemq::user_properties{{"routemq-status", "done"},
                                            {"traceparent", span.traceparent()},
                                            {"tracestate", "v=1"}}));
        EXPECT_EQ(rec.messages[3].correlation_data, "c");
    }
    out.publish("after", "x", 1, false);
    ASSERT_EQ(rec.messages.size(), 5u);
    EXPECT_TRUE(rec.messages[0].properties.empty());
    EXPECT_TRUE(rec.messages[1].properties.empty());
    EXPECT_TRUE(rec.messages[4].properties.empty());
}

TEST(TraceContext, AContextMadeOutsideTheDispatcherHasNone) {
    routemq::message m = with_properties("t", {{"traceparent", kValid}});
    test::recording_publisher rec;
    const std::string pattern = "t";
    auto ctx = routemq::detail::context_access::make(m, pattern, rec, "main");
    EXPECT_TRUE(ctx.trace_id().empty());
    EXPECT_TRUE(ctx.span_id().empty());
    EXPECT_TRUE(ctx.parent_span_id().empty());
    EXPECT_TRUE(ctx.traceparent().empty());
}

namespace {

/// What a handler saw of its trace.
struct seen {
    std::string trace_id, span_id, parent_span_id, traceparent;
};

seen seen_by(routemq::context& ctx) {
    return {std::string(ctx.trace_id()), std::string(ctx.span_id()),
            std::string(ctx.parent_span_id()), ctx.traceparent()};
}

}  // namespace

TEST(TracedDispatch, EveryPublishOfARunCarriesTheTraceWithTheRunsSpan) {
    routemq::router r;
    std::vector<seen> handlers;
    r.on("in/{id}", [&](routemq::context& ctx) {
        handlers.push_back(seen_by(ctx));
        ctx.publish("out/a", "1", 1);
        ctx.client().publish("out/b", "2", 1);
        ctx.progress(0.5);
        ctx.reply("done");
    });
    test::test_dispatcher d(r);
    test::recording_publisher rec;
    routemq::detail::tracing_outbox out(rec);
    auto m = with_properties("in/7", {{"traceparent", kValid}, {"tracestate", "v=1,w=2"}});
    m.response_topic = "routemq/replies/caller";
    d.dispatch(m, out);
    ASSERT_EQ(handlers.size(), 1u);
    const auto& h = handlers[0];
    EXPECT_EQ(h.trace_id, kTraceId);
    EXPECT_EQ(h.parent_span_id, kParentId);
    EXPECT_TRUE(is_hex_id(h.span_id, 16)) << h.span_id;
    EXPECT_NE(h.span_id, kParentId);
    EXPECT_EQ(h.traceparent, "00-" + std::string(kTraceId) + "-" + h.span_id + "-01");
    // accepted, out/a, out/b, progress, done: one span, the handler run's.
    ASSERT_EQ(rec.messages.size(), 5u);
    for (const auto& sent : rec.messages) {
        EXPECT_EQ(sent.property("traceparent"), h.traceparent) << sent.topic;
        EXPECT_EQ(sent.property("tracestate"), "v=1,w=2") << sent.topic;
    }
    EXPECT_EQ(rec.messages[0].property("routemq-status"), "accepted");
    EXPECT_EQ(rec.messages[4].property("routemq-status"), "done");
    EXPECT_EQ(routemq::detail::current_trace(), nullptr);
}

TEST(TracedDispatch, AMessageWithoutTraceStartsOneSharedByItsRoutes) {
    routemq::router r;
    std::vector<seen> handlers;
    const auto handler = [&](routemq::context& ctx) {
        handlers.push_back(seen_by(ctx));
        ctx.publish("out", "x");
    };
    r.on("in/{id}", handler);
    r.on("in/#", handler);
    test::test_dispatcher d(r);
    test::recording_publisher rec;
    routemq::detail::tracing_outbox out(rec);
    d.dispatch(with_properties("in/1", {}), out);  // no subscription ids: both routes match
    ASSERT_EQ(handlers.size(), 2u);
    ASSERT_EQ(rec.messages.size(), 2u);
    EXPECT_TRUE(is_hex_id(handlers[0].trace_id, 32));
    EXPECT_EQ(handlers[0].trace_id, handlers[1].trace_id);
    EXPECT_NE(handlers[0].span_id, handlers[1].span_id);
    EXPECT_TRUE(handlers[0].parent_span_id.empty());
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(rec.messages[i].property("traceparent"), handlers[i].traceparent);
        EXPECT_TRUE(valid(handlers[i].traceparent)) << handlers[i].traceparent;
        EXPECT_EQ(handlers[i].traceparent.substr(53), "01");
        EXPECT_EQ(rec.messages[i].property("tracestate"), "");
    }
    // The next delivery is a trace of its own.
    d.dispatch(with_properties("in/2", {}), out);
    ASSERT_EQ(handlers.size(), 4u);
    EXPECT_NE(handlers[2].trace_id, handlers[0].trace_id);
}

TEST(TracedDispatch, RetriesShareTheSpanAndTheDeadLetterCarriesIt) {
    routemq::router r;
    std::vector<seen> handlers;
    r.on("in/x",
         [&](routemq::context& ctx) {
             handlers.push_back(seen_by(ctx));
             ctx.publish("partial", "x", 1);
             throw std::runtime_error("no");
         },
         {.retry = routemq::retry_policy{.attempts = 2, .backoff = {}, .backoff_max = {}}});
    test::test_dispatcher d(r);
    test::recording_publisher rec;
    routemq::detail::tracing_outbox out(rec);
    d.dispatch(with_properties("in/x", {{"traceparent", kValid}}), out);
    ASSERT_EQ(handlers.size(), 2u);
    EXPECT_EQ(handlers[0].traceparent, handlers[1].traceparent);
    ASSERT_EQ(rec.messages.size(), 3u);  // partial twice, then the dead letter
    EXPECT_EQ(rec.messages[2].property("routemq-reason"), "failed");
    EXPECT_EQ(rec.messages[2].property("traceparent"), handlers[0].traceparent);
}

namespace {

std::string log_line(const std::string& format, std::string_view text) {
    const auto formatter = routemq::detail::make_log_formatter("main", format);
    spdlog::details::log_msg msg(spdlog::source_loc{}, "routemq", spdlog::level::info, text);
    spdlog::memory_buf_t out;
    formatter->format(msg, out);
    return std::string(out.data(), out.size());
}

}  // namespace

TEST(TracedLogLines, CarryTheTraceOnlyWhileAMessageIsHandled) {
    const auto outside_json = log_line("json", "hello");
    EXPECT_EQ(outside_json.find("trace_id"), std::string::npos) << outside_json;
    const auto outside_text = log_line("text", "hello");
    EXPECT_EQ(outside_text.find("trace_id"), std::string::npos) << outside_text;

    const auto m = with_properties("t", {{"traceparent", kValid}});
    const auto delivery = routemq::detail::begin_trace(m, m.topic);
    const routemq::detail::trace_scope in_delivery(delivery);
    const auto delivery_line = nlohmann::json::parse(log_line("json", "no route"));
    EXPECT_EQ(delivery_line["trace_id"], kTraceId);
    EXPECT_FALSE(delivery_line.contains("span_id"));

    const auto span = routemq::detail::start_span();
    const routemq::detail::trace_scope in_span(span);
    const auto json_line = log_line("json", "handled \"x\"");
    const auto entry = nlohmann::json::parse(json_line);  // still one valid object
    EXPECT_EQ(entry["msg"], "handled \"x\"");
    EXPECT_EQ(entry["trace_id"], kTraceId);
    EXPECT_EQ(entry["span_id"], std::string(span.span_id_text()));
    const auto text_line = log_line("text", "handled");
    EXPECT_NE(text_line.find("[main] handled trace_id=" + std::string(kTraceId) +
                             " span_id=" + std::string(span.span_id_text()) + "\n"),
              std::string::npos)
        << text_line;
}

TEST(TracedLogLines, HandlerAndFrameworkLinesOfADeliveryCarryItsTrace) {
    // The process's logger as LOG_FORMAT=json makes it, writing into `captured`.
    std::ostringstream captured;
    auto logger = std::make_shared<spdlog::logger>(
        "routemq", std::make_shared<spdlog::sinks::ostream_sink_st>(captured));
    logger->set_formatter(routemq::detail::make_log_formatter("main", "json"));
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    struct restore {
        std::shared_ptr<spdlog::logger> logger;
        ~restore() { spdlog::set_default_logger(logger); }
    } restored{previous};

    routemq::router r;
    std::string span_id;
    r.on("in/{id}",
         [&](routemq::context& ctx) {
             span_id = std::string(ctx.span_id());
             spdlog::info("from the handler");
             throw routemq::payload_error("bad");
         },
         {.retry = routemq::retry_policy{.attempts = 1}});
    test::test_dispatcher d(r);
    test::recording_publisher rec;
    d.dispatch(with_properties("in/x", {{"traceparent", kValid}}), rec);
    d.dispatch(with_properties("elsewhere", {{"traceparent", kValid}}), rec);
    spdlog::info("after");

    std::istringstream lines(captured.str());
    std::vector<nlohmann::json> entries;
    for (std::string line; std::getline(lines, line);) {
        entries.push_back(nlohmann::json::parse(line));
    }
    // The handler's line, the bad payload warning, the dead letter's, no route, after.
    ASSERT_EQ(entries.size(), 5u) << captured.str();
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(entries[i]["trace_id"], kTraceId) << entries[i];
        EXPECT_EQ(entries[i]["span_id"], span_id) << entries[i];
    }
    EXPECT_EQ(entries[0]["msg"], "from the handler");
    EXPECT_NE(entries[2]["msg"].get<std::string>().find("dead-letter"), std::string::npos);
    EXPECT_NE(entries[3]["msg"].get<std::string>().find("no route"), std::string::npos);
    EXPECT_EQ(entries[3]["trace_id"], kTraceId);
    EXPECT_FALSE(entries[3].contains("span_id"));
    EXPECT_FALSE(entries[4].contains("trace_id"));
}
