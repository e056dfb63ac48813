#include "delivery/publish_check.hpp"

#include <fmt/format.h>
#include <utf8.h>

#include <algorithm>
#include <iterator>

#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

/// Bytes of a Variable Byte Integer holding `n`.
std::size_t varint_size(std::size_t n) {
    std::size_t bytes = 1;
    while (n >= 128) {
        n /= 128;
        ++bytes;
    }
    return bytes;
}

/// Code points MQTT says a UTF-8 string should not hold, and mosquitto refuses.
bool forbidden_code_point(std::uint32_t cp) {
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
           (cp & 0xFFFE) == 0xFFFE;
}

/// Printable ASCII only, the common case: valid UTF-8 with nothing MQTT forbids, found without
/// decoding (this runs for every topic and property of every publish).
bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x7F;
    });
}

std::string utf8_problem(std::string_view text) {
    if (printable_ascii(text)) {
        return "";
    }
    if (!utf8::is_valid(text.begin(), text.end())) {
        return fmt::format("is not valid UTF-8 (at byte {})",
                           utf8::find_invalid(text.begin(), text.end()) - text.begin());
    }
    for (auto it = text.begin(); it != text.end();) {
        const auto at = it - text.begin();
        const auto cp = utf8::unchecked::next(it);
        if (cp == 0) {
            return fmt::format("holds a NUL byte (at byte {})", at);
        }
        if (forbidden_code_point(cp)) {
            return fmt::format("holds the control character or non-character U+{:04X} (at byte {})",
                               cp, at);
        }
    }
    return "";
}

[[noreturn]] void refuse(std::string_view topic, const std::string& why) {
    throw publish_error(fmt::format("cannot publish to '{}': {}", printable_topic(topic), why));
}

}  // namespace

std::string topic_name_problem(std::string_view topic) {
    if (topic.empty()) {
        return "a topic name is never empty";
    }
    if (topic.size() > kMaxMqttString) {
        return fmt::format("the topic is {} bytes, more than MQTT's {}", topic.size(),
                           kMaxMqttString);
    }
    if (const auto at = topic.find_first_of("+#"); at != std::string_view::npos) {
        return fmt::format("a topic name holds no wildcard, and this one has '{}' at byte {}",
                           topic[at], at);
    }
    if (auto why = utf8_problem(topic); !why.empty()) {
        return "the topic " + why;
    }
    return "";
}

std::string utf8_string_problem(std::string_view text) {
    if (text.size() > kMaxMqttString) {
        return fmt::format("it is {} bytes, more than MQTT's {}", text.size(), kMaxMqttString);
    }
    if (auto why = utf8_problem(text); !why.empty()) {
        return "it " + why;
    }
    return "";
}

std::size_t properties_length(const publish_properties& properties) {
    std::size_t length = 0;
    for (const auto& [name, value] : properties.user_properties) {
        length += 1 + 2 + name.size() + 2 + value.size();
    }
    if (!properties.response_topic.empty()) {
        length += 1 + 2 + properties.response_topic.size();
    }
    if (!properties.correlation_data.empty()) {
        length += 1 + 2 + properties.correlation_data.size();
    }
    return length;
}

std::size_t publish_packet_size(std::string_view topic, std::size_t payload_size, int qos,
                                const publish_properties& properties, bool v5) {
    std::size_t variable = 2 + topic.size() + (qos > 0 ? 2 : 0);
    if (v5) {
        const auto props = properties_length(properties);
        variable += varint_size(props) + props;
    }
    const std::size_t remaining = variable + payload_size;
    return 1 + varint_size(remaining) + remaining;
}

void check_publish(std::string_view topic, std::size_t payload_size, int qos,
                   const publish_properties& properties, const publish_limits& limits) {
    if (auto why = topic_name_problem(topic); !why.empty()) {
        refuse(topic, why);
    }
    if (qos < 0 || qos > 2) {
        refuse(topic, fmt::format("QoS {} is not 0, 1 or 2", qos));
    }
    if (limits.v5) {
        for (const auto& [name, value] : properties.user_properties) {
            if (auto why = utf8_string_problem(name); !why.empty()) {
                refuse(topic, "a user property's name is not an MQTT string: " + why);
            }
            if (auto why = utf8_string_problem(value); !why.empty()) {
                refuse(topic, fmt::format("the value of user property '{}' is not an MQTT "
                                          "string: {}",
                                          printable_topic(name), why));
            }
        }
        if (!properties.response_topic.empty()) {
            if (auto why = topic_name_problem(properties.response_topic); !why.empty()) {
                refuse(topic, "its Response Topic is not a topic name: " + why);
            }
        }
        if (properties.correlation_data.size() > kMaxMqttString) {
            refuse(topic, fmt::format("its Correlation Data is {} bytes, more than MQTT's {}",
                                      properties.correlation_data.size(), kMaxMqttString));
        }
    }
    const auto size = publish_packet_size(topic, payload_size, qos, properties, limits.v5);
    if (size > limits.max_packet) {
        refuse(topic, fmt::format("the message is {} bytes with its {}-byte payload, more than "
                                  "the broker's Maximum Packet Size of {}",
                                  size, payload_size, limits.max_packet));
    }
}

std::string to_mqtt_string(std::string_view text, std::size_t most) {
    std::string valid;
    utf8::replace_invalid(text.begin(), text.end(), std::back_inserter(valid));
    constexpr std::string_view kCut = "...";
    const std::size_t room = most - std::min(most, kCut.size());
    std::string out;
    std::size_t keep = 0;  // the longest prefix, at a character's end, that leaves room for kCut
    for (auto it = valid.begin(); it != valid.end();) {
        const auto from = it;
        const auto cp = utf8::unchecked::next(it);
        if (cp == 0 || forbidden_code_point(cp)) {
            out += cp < 0x100 ? fmt::format("\\x{:02x}", cp) : fmt::format("\\u{{{:04X}}}", cp);
        } else {
            out.append(from, it);
        }
        if (out.size() <= room) {
            keep = out.size();
        }
        if (out.size() > most) {
            out.resize(keep);
            out += kCut.substr(0, std::min(kCut.size(), most - keep));
            return out;
        }
    }
    return out;
}

std::string printable_topic(std::string_view topic) {
    constexpr std::size_t kShown = 200;
    const auto shown = topic.substr(0, kShown);
    std::string out;
    if (utf8_problem(shown).empty() && shown.find('\\') == std::string_view::npos) {
        out = shown;  // readable as it is, non-ASCII letters included
    } else {
        for (const unsigned char c : shown) {
            if (c >= 0x20 && c < 0x7F && c != '\\') {
                out += static_cast<char>(c);
            } else {
                out += fmt::format("\\x{:02x}", c);
            }
        }
    }
    if (topic.size() > kShown) {
        out += fmt::format("... ({} bytes)", topic.size());
    }
    return out;
}

}  // namespace routemq::detail
