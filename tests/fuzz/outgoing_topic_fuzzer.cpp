// The checks every outgoing publish passes (core/src/delivery/publish_check.cpp) against a second
// implementation written from the MQTT 5 specification (1.5.4, 4.7.3) and mosquitto's rules:
// the input is a topic name; topic_name_problem must accept exactly what the oracle accepts,
// check_publish must throw routemq::publish_error exactly then, and to_mqtt_string must always
// give an MQTT string within its size whatever bytes it is handed (an exception's text). Any
// difference aborts with the input's bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "delivery/publish_check.hpp"
#include "routemq/errors.hpp"

namespace {

/// Decodes `s` as UTF-8 by the book (RFC 3629): lead byte, continuation bytes, shortest form,
/// no surrogates, at most U+10FFFF; and refuses the code points an MQTT string must not hold
/// (U+0000) or that mosquitto refuses (controls, non-characters). True when `s` passes.
bool oracle_mqtt_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t n = 0;
        if (b < 0x80) {
            cp = b;
            n = 1;
        } else if (b >= 0xC2 && b <= 0xDF) {
            cp = b & 0x1Fu;
            n = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            cp = b & 0x0Fu;
            n = 3;
        } else if (b >= 0xF0 && b <= 0xF4) {
            cp = b & 0x07u;
            n = 4;
        } else {
            return false;
        }
        if (i + n > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3Fu);
        }
        const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
            (cp & 0xFFFF) == 0xFFFE || (cp & 0xFFFF) == 0xFFFF) {
            return false;
        }
        i += n;
    }
    return true;
}

/// A topic name a client may publish to.
bool oracle_topic_name(std::string_view t) {
    return !t.empty() && t.size() <= 65535 && t.find('+') == std::string_view::npos &&
           t.find('#') == std::string_view::npos && oracle_mqtt_utf8(t);
}

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
    std::fprintf(stderr, "%s for input (%zu bytes):", what, input.size());
    for (const unsigned char c : input.substr(0, 200)) {
        std::fprintf(stderr, " %02x", c);
    }
    std::fprintf(stderr, "\n%s\n", detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const auto most = in.ConsumeIntegralInRange<std::size_t>(0, 300);
    const auto shape = in.ConsumeIntegralInRange<std::size_t>(0, 15);
    std::string topic = in.ConsumeRemainingBytesAsString();
    // Now and then repeated up to MQTT's 65,535-byte limit: one byte short, exact, one over.
    if (shape >= 13 && !topic.empty()) {
        while (topic.size() < 65536) {
            topic += topic;
        }
        topic.resize(65534 + shape - 13);
    }

    const auto problem = routemq::detail::topic_name_problem(topic);
    if (problem.empty() != oracle_topic_name(topic)) {
        fail("topic_name_problem disagrees with the oracle", topic,
             problem.empty() ? "accepted, the oracle refuses" : "refused: " + problem);
    }
    bool threw = false;
    try {
        routemq::detail::check_publish(topic, 0, 1, {}, {});
    } catch (const routemq::publish_error& e) {
        threw = true;
        if (std::string_view(e.what()).find(problem) == std::string_view::npos) {
            fail("check_publish gives another reason than topic_name_problem", topic, e.what());
        }
    }
    if (threw == problem.empty()) {
        fail("check_publish disagrees with topic_name_problem", topic, problem);
    }

    // Its input is an error text (a few hundred bytes), not a topic: the long ones add nothing.
    const auto text = std::string_view(topic).substr(0, 1024);
    const auto made = routemq::detail::to_mqtt_string(text, most);
    if (made.size() > most || !oracle_mqtt_utf8(made)) {
        fail("to_mqtt_string made no MQTT string within its size", text, made);
    }
    if (oracle_mqtt_utf8(text) && text.size() <= most && made != text) {
        fail("to_mqtt_string changed a string that needed nothing", text, made);
    }
    (void)routemq::detail::printable_topic(topic);
    return 0;
}
