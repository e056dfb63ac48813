#include "delivery/trace_context.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <thread>

namespace routemq::detail {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
/// Length of a version 00 `traceparent`, and the offsets of its fields.
constexpr std::size_t kTraceparentLength = 55;
constexpr std::size_t kTraceIdAt = 3;
constexpr std::size_t kParentIdAt = 36;
constexpr std::size_t kFlagsAt = 53;
/// The most of an invalid value a debug line quotes.
constexpr std::size_t kQuotedMax = 64;

thread_local const trace_context* current = nullptr;

bool is_lower_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

template <std::size_t N>
bool read_hex(std::string_view text, std::size_t at, std::array<char, N>& out) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        if (!is_lower_hex(text[at + i])) {
            return false;
        }
        out[i] = text[at + i];
    }
    return true;
}

template <std::size_t N>
bool all_zeros(const std::array<char, N>& digits) noexcept {
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; });
}

/// This thread's random ids: SplitMix64 (Steele, Lea and Flood 2014; what xoshiro's authors seed
/// with) over a seed from std::random_device taken on first use in the thread, so no two
/// processes (every one is exec'd) or threads share a sequence. Its output passes BigCrush, which
/// is all ids need (they tell traces apart; they are not secrets), at about a nanosecond a word:
/// std::mt19937_64 costs several times that, and dispatch is hot. Zero-initialized, so the
/// thread-locals need no initialization guard on each use.
thread_local std::uint64_t random_state = 0;
thread_local bool random_seeded = false;

std::uint64_t random_word() noexcept {
    if (!random_seeded) {
        try {
            std::random_device device;
            random_state = (static_cast<std::uint64_t>(device()) << 32) ^ device();
        } catch (...) {
            // No entropy source: time, process and thread still differ between callers.
            random_state = static_cast<std::uint64_t>(
                               std::chrono::steady_clock::now().time_since_epoch().count()) ^
                           (static_cast<std::uint64_t>(getpid()) << 32) ^
                           std::hash<std::thread::id>{}(std::this_thread::get_id());
        }
        random_seeded = true;
    }
    std::uint64_t z = (random_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Two hex digits per byte value, so that an id is written a byte at a time.
constexpr auto kHexPairs = [] {
    std::array<std::array<char, 2>, 256> pairs{};
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        pairs[i] = {kHexDigits[i >> 4], kHexDigits[i & 0xf]};
    }
    return pairs;
}();

/// Fills `out` with random lowercase hex digits, never all zeros (an invalid id).
template <std::size_t N>
void random_hex(std::array<char, N>& out) noexcept {
    static_assert(N % 16 == 0);
    std::uint64_t any = 0;
    do {
        for (std::size_t i = 0; i < N; i += 16) {
            auto word = random_word();
            any |= word;
            for (std::size_t j = 0; j < 16; j += 2, word >>= 8) {
                const auto& pair = kHexPairs[word & 0xff];
                out[i + j] = pair[0];
                out[i + j + 1] = pair[1];
            }
        }
    } while (any == 0);
}

}  // namespace

std::optional<traceparent_fields> parse_traceparent(std::string_view value) noexcept {
    if (value.size() < kTraceparentLength || !is_lower_hex(value[0]) || !is_lower_hex(value[1])) {
        return std::nullopt;
    }
    const bool version_00 = value[0] == '0' && value[1] == '0';
    if (value[0] == 'f' && value[1] == 'f') {
        return std::nullopt;  // forbidden by the specification
    }
    if (version_00 ? value.size() != kTraceparentLength
                   : value.size() > kTraceparentLength && value[kTraceparentLength] != '-') {
        return std::nullopt;
    }
    if (value[kTraceIdAt - 1] != '-' || value[kParentIdAt - 1] != '-' ||
        value[kFlagsAt - 1] != '-') {
        return std::nullopt;
    }
    traceparent_fields f;
    if (!read_hex(value, kTraceIdAt, f.trace_id) || !read_hex(value, kParentIdAt, f.parent_id) ||
        !read_hex(value, kFlagsAt, f.flags) || all_zeros(f.trace_id) || all_zeros(f.parent_id)) {
        return std::nullopt;
    }
    return f;
}

std::string trace_context::traceparent() const {
    if (!has_span) {
        return {};
    }
    std::string out;
    out.reserve(kTraceparentLength);
    out.append("00-").append(trace_id_text()).append("-").append(span_id_text()).append("-");
    out.append(flags.data(), flags.size());
    return out;
}

trace_context begin_trace(const message& msg, std::string_view topic) noexcept {
    trace_context t;
    const std::string* value = nullptr;
    int found = 0;
    for (const auto& [name, v] : msg.user_properties) {
        if (name == kTraceparentProperty) {
            ++found;
            value = &v;
        }
    }
    if (found == 1) {
        if (const auto fields = parse_traceparent(*value)) {
            t.trace_id = fields->trace_id;
            t.parent_id = fields->parent_id;
            t.flags = fields->flags;
            t.has_parent = true;
            t.tracestate_from = &msg.user_properties;
            return t;
        }
    }
    if (found > 0) {
        try {
            if (found > 1) {
                spdlog::debug(
                    "message on topic '{}' carries {} traceparent properties; ignored, "
                    "starting a new trace",
                    topic, found);
            } else {
                spdlog::debug(
                    "invalid traceparent '{}{}' on topic '{}'; ignored, starting a new "
                    "trace",
                    std::string_view(*value).substr(0, kQuotedMax),
                    value->size() > kQuotedMax ? "..." : "", topic);
            }
        } catch (...) {
        }
    }
    random_hex(t.trace_id);
    t.flags = {'0', '1'};
    return t;
}

trace_context start_span() noexcept {
    trace_context t;
    if (current != nullptr) {
        t = *current;
    } else {
        random_hex(t.trace_id);
        t.flags = {'0', '1'};
    }
    random_hex(t.span_id);
    t.has_span = true;
    return t;
}

const trace_context* current_trace() noexcept {
    return current;
}

trace_scope::trace_scope(const trace_context& t) noexcept : previous_(current) {
    current = &t;
}

trace_scope::~trace_scope() {
    current = previous_;
}

void add_trace_properties(const trace_context& t, routemq::user_properties& to) {
    if (!t.has_span) {
        return;
    }
    to.emplace_back(kTraceparentProperty, t.traceparent());
    if (t.tracestate_from != nullptr) {
        for (const auto& [name, value] : *t.tracestate_from) {
            if (name == kTracestateProperty) {
                to.emplace_back(name, value);
            }
        }
    }
}

void tracing_outbox::publish(const std::string& topic, std::string_view payload, int qos,
                             bool retain) {
    const auto* t = current_trace();
    if (t == nullptr || !t->has_span) {
        out_.publish(topic, payload, qos, retain);
        return;
    }
    publish_properties p;
    add_trace_properties(*t, p.user_properties);
    out_.publish(topic, payload, qos, retain, p);
}

void tracing_outbox::publish(const std::string& topic, std::string_view payload, int qos,
                             bool retain, const publish_properties& properties) {
    const auto* t = current_trace();
    if (t == nullptr || !t->has_span) {
        out_.publish(topic, payload, qos, retain, properties);
        return;
    }
    auto p = properties;
    add_trace_properties(*t, p.user_properties);
    out_.publish(topic, payload, qos, retain, p);
}

}  // namespace routemq::detail
