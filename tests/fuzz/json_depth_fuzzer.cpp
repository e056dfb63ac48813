// Payload JSON and JSON_MAX_DEPTH (core/src/delivery/context.cpp): arbitrary payloads through
// routemq::context::json(), under a maximum depth the input picks, either return JSON or throw
// routemq::payload_error (any other exception escapes and fails the run), the same on every call
// and as is_json() says. Whatever nlohmann parses (with no NUL in it) and nests no deeper than
// the maximum (counted in the text) is accepted, as nlohmann parsed it; nothing deeper or
// invalid is. Nothing overflows
// the stack: the depth check runs before parsing, and what is accepted is walked recursively
// (dump()).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "delivery/context_access.hpp"
#include "routemq/context.hpp"
#include "routemq/errors.hpp"
#include "routemq/message.hpp"

namespace {

/// JSON_MAX_DEPTH's default, its bounds (1-10000) and a few small ones.
constexpr int kDepths[] = {64, 1, 2, 3, 10000};
constexpr int kDefaultDepth = 64;
constexpr int kMaxDepth = 10000;

class null_publisher : public routemq::publisher {
public:
    void publish(const std::string&, std::string_view, int, bool) override {}
};

[[noreturn]] void fail(std::string_view what, int max_depth, std::string_view payload) {
    std::fprintf(stderr,
                 "json_depth fuzzer: %.*s\n  JSON_MAX_DEPTH: %d\n  payload (%zu bytes): '%.*s'\n",
                 static_cast<int>(what.size()), what.data(), max_depth, payload.size(),
                 static_cast<int>(payload.size()), payload.data());
    std::abort();
}

/// The deepest nesting of arrays and objects in a JSON text (a scalar is 0, `[]` is 1), counted
/// while nlohmann's parser reads it (no recursion). The text, not the parsed value, is what
/// JSON_MAX_DEPTH bounds: `{"a":[1],"a":2}` nests 2 deep though its value, the last `a` winning,
/// is 1 deep.
class depth_counter : public nlohmann::json_sax<nlohmann::json> {
public:
    int deepest = 0;

    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return open(); }
    bool key(string_t&) override { return true; }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }

private:
    bool open() {
        deepest = std::max(deepest, ++depth_);
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }
    int depth_ = 0;
};

/// The nesting of `payload` when it is JSON (no NUL: nlohmann stops at a NUL as at the end of
/// the input, so "[]\0junk" would parse, but JSON has none), or -1 when it is not.
int json_depth(const std::string& payload) {
    if (payload.find('\0') != std::string::npos) {
        return -1;
    }
    depth_counter counter;
    return nlohmann::json::sax_parse(payload, &counter) ? counter.deepest : -1;
}

/// ctx.json() for `payload` under `max_depth`: the parsed value, or null on a payload_error.
/// Checks that the answer is stable and that is_json() agrees.
const nlohmann::json* parse_in_context(const routemq::context& ctx, int max_depth,
                                       std::string_view payload) {
    const nlohmann::json* got = nullptr;
    try {
        got = &ctx.json();
    } catch (const routemq::payload_error&) {
    }
    try {
        if (&ctx.json() != got) {
            fail("a second json() returned another value", max_depth, payload);
        }
    } catch (const routemq::payload_error&) {
        if (got != nullptr) {
            fail("a second json() threw where the first returned", max_depth, payload);
        }
    }
    if (ctx.is_json() != (got != nullptr)) {
        fail("is_json() disagrees with json()", max_depth, payload);
    }
    return got;
}

void check(const std::string& payload, int max_depth) {
    const routemq::message msg{.topic = "fuzz/json", .payload = payload};
    const std::string route = "fuzz/json";
    null_publisher out;
    const auto ctx = routemq::detail::context_access::make(msg, route, out, "fuzz", max_depth);
    const auto* got = parse_in_context(ctx, max_depth, payload);
    const int depth = json_depth(payload);
    if (depth >= 0 && depth <= max_depth && got == nullptr) {
        fail("rejected valid JSON within JSON_MAX_DEPTH", max_depth, payload);
    }
    if (got != nullptr) {
        if (depth < 0 || depth > max_depth) {
            fail("accepted invalid JSON or JSON deeper than JSON_MAX_DEPTH", max_depth, payload);
        }
        if (*got != nlohmann::json::parse(payload)) {
            fail("json() differs from what nlohmann parses", max_depth, payload);
        }
        (void)got->dump();
    }
}

std::string nested(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

}  // namespace

// Once, beyond the inputs libFuzzer makes (they are at most a few KB): the deepest document the
// largest JSON_MAX_DEPTH admits is accepted and dumped without overflowing the stack, one level
// more is not, and the 100,000-deep payload of docs/workers.md is refused under the default.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    check(nested(kMaxDepth), kMaxDepth);
    check(nested(kMaxDepth + 1), kMaxDepth);
    check(nested(100000), kDefaultDepth);
    return 0;
}

// The first byte picks JSON_MAX_DEPTH (a seed starting with '0'-'4' takes kDepths[0-4]), the rest
// is the payload.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    constexpr std::size_t kCount = sizeof(kDepths) / sizeof(kDepths[0]);
    const std::size_t pick = data[0] % 8;
    const int max_depth = pick < kCount ? kDepths[pick] : 1 + data[0] / 8;
    check(std::string(reinterpret_cast<const char*>(data) + 1, size - 1), max_depth);
    return 0;
}
