#include "dead_letters/dead_letter.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <utf8.h>

#include <algorithm>
#include <charconv>

namespace routemq::detail {
namespace {

constexpr std::string_view kStorePrefix = "routemq/dead-letters/";
constexpr std::string_view kMarkerPrefix = "routemq/markers/";
constexpr std::string_view kPropertiesCount = "routemq-properties";
constexpr std::string_view kResponseTopic = "routemq-response-topic";
constexpr std::string_view kCorrelationData = "routemq-correlation-data";
constexpr std::size_t kTimeDigits = 13;
constexpr std::size_t kUniqueDigits = 16;

std::string to_hex(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const unsigned char c : bytes) {
        fmt::format_to(std::back_inserter(out), "{:02x}", c);
    }
    return out;
}

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        unsigned value = 0;
        std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
        out.push_back(static_cast<char>(value));
    }
    return out;
}

std::string to_base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

int to_int(std::string_view text) {
    int value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace

std::string dead_letter_store_prefix(const mqtt_settings& mqtt) {
    return fmt::format("{}{}", kStorePrefix, mqtt.group_name);
}

std::string dead_letter_store_filter(const mqtt_settings& mqtt) {
    return dead_letter_store_prefix(mqtt) + "/+";
}

std::string dead_letter_store_topic(const mqtt_settings& mqtt, std::string_view id) {
    return fmt::format("{}/{}", dead_letter_store_prefix(mqtt), id);
}

std::string dead_letter_id(std::int64_t unix_ms, std::uint64_t unique) {
    return fmt::format("{:013d}-{:016x}", unix_ms, unique);
}

bool is_dead_letter_id(std::string_view id) noexcept {
    if (id.size() != kTimeDigits + 1 + kUniqueDigits || id[kTimeDigits] != '-') {
        return false;
    }
    const auto digits = id.substr(0, kTimeDigits);
    const auto hex = id.substr(kTimeDigits + 1);
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::all_of(hex.begin(), hex.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::int64_t dead_letter_time(std::string_view id) noexcept {
    std::int64_t ms = 0;
    std::from_chars(id.data(), id.data() + std::min(id.size(), kTimeDigits), ms);
    return ms;
}

routemq::user_properties fact_properties(const dead_letter_facts& facts, std::string_view topic) {
    return {
        {"routemq-reason", facts.reason},      {"routemq-route", facts.route},
        {"routemq-error", facts.error},        {"routemq-attempts", std::to_string(facts.attempts)},
        {"routemq-topic", std::string(topic)}, {"routemq-process", facts.process}};
}

bool is_framework_topic(std::string_view topic) noexcept {
    return topic.starts_with(kStorePrefix) || topic.starts_with(kMarkerPrefix);
}

std::string dead_letter_marker_topic(std::string_view client_id) {
    return fmt::format("{}{}", kMarkerPrefix, client_id);
}

publish_properties kept_properties(const message& original, std::string_view topic,
                                   const dead_letter_facts& facts) {
    publish_properties p{.user_properties = fact_properties(facts, topic)};
    auto& props = p.user_properties;
    props.reserve(props.size() + 3 + original.user_properties.size());
    if (!original.response_topic.empty()) {
        props.emplace_back(kResponseTopic, original.response_topic);
    }
    if (!original.correlation_data.empty()) {
        props.emplace_back(kCorrelationData, to_hex(original.correlation_data));
    }
    props.emplace_back(kPropertiesCount, std::to_string(original.user_properties.size()));
    props.insert(props.end(), original.user_properties.begin(), original.user_properties.end());
    return p;
}

std::optional<dead_letter> read_dead_letter(const message& m, std::string_view prefix,
                                            bool keep_payload) {
    if (m.payload.empty() || m.topic.size() <= prefix.size() + 1 ||
        m.topic.compare(0, prefix.size(), prefix) != 0 || m.topic[prefix.size()] != '/') {
        return std::nullopt;
    }
    dead_letter d;
    d.id = m.topic.substr(prefix.size() + 1);
    if (!is_dead_letter_id(d.id)) {
        return std::nullopt;
    }
    d.when_ms = dead_letter_time(d.id);
    d.size = m.payload.size();
    if (keep_payload) {
        d.payload = m.payload;
        d.payload_kept = true;
    }
    const auto& props = m.user_properties;
    std::size_t i = 0;
    bool counted = false;
    for (; i < props.size() && !counted; ++i) {
        const auto& [name, value] = props[i];
        if (name == "routemq-reason") {
            d.facts.reason = value;
        } else if (name == "routemq-route") {
            d.facts.route = value;
        } else if (name == "routemq-error") {
            d.facts.error = value;
        } else if (name == "routemq-attempts") {
            d.facts.attempts = to_int(value);
        } else if (name == "routemq-topic") {
            d.topic = value;
        } else if (name == "routemq-process") {
            d.facts.process = value;
        } else if (name == kResponseTopic) {
            d.response_topic = value;
        } else if (name == kCorrelationData) {
            d.correlation_data = from_hex(value);
        } else if (name == kPropertiesCount) {
            const auto n = static_cast<std::size_t>(std::max(0, to_int(value)));
            const auto end = std::min(props.size(), i + 1 + n);
            d.properties.assign(props.begin() + static_cast<std::ptrdiff_t>(i + 1),
                                props.begin() + static_cast<std::ptrdiff_t>(end));
            counted = true;
        }
    }
    if (!counted || d.topic.empty() || d.facts.reason.empty()) {
        return std::nullopt;
    }
    return d;
}

publish_properties replay_properties(const dead_letter& d) {
    return {.user_properties = d.properties,
            .response_topic = d.response_topic,
            .correlation_data = d.correlation_data};
}

std::string replay_problem(const router& r, const dead_letter& d) {
    if (r.routes().empty()) {
        return "";
    }
    for (const auto& rt : r.routes()) {
        if (rt.pattern.matches(d.topic)) {
            return "";
        }
    }
    return fmt::format(
        "no route of this application handles its topic '{}' (it names route '{}'); purge it, "
        "or publish it yourself",
        d.topic, d.facts.route);
}

bool dead_letter_filter::matches(const dead_letter& d) const noexcept {
    return (route.empty() || d.facts.route == route) &&
           (reason.empty() || d.facts.reason == reason);
}

std::vector<std::string> ids_to_evict(const std::map<std::string, dead_letter>& kept,
                                      std::size_t max) {
    std::vector<std::string> out;
    if (kept.size() <= max) {
        return out;
    }
    auto it = kept.begin();  // ids sort by age
    for (std::size_t n = kept.size() - max; n > 0; --n, ++it) {
        out.push_back(it->first);
    }
    return out;
}

nlohmann::json to_json(const dead_letter& d, bool whole) {
    nlohmann::json j{{"id", d.id},
                     {"when_ms", d.when_ms},
                     {"route", d.facts.route},
                     {"reason", d.facts.reason},
                     {"attempts", d.facts.attempts},
                     {"error", d.facts.error},
                     {"topic", d.topic},
                     {"size", d.size}};
    if (!whole) {
        return j;
    }
    if (utf8::is_valid(d.payload.begin(), d.payload.end())) {
        j["payload"] = d.payload;
    } else {
        j["payload"] = nullptr;
        j["payload_base64"] = to_base64(d.payload);
    }
    j["process"] = d.facts.process;
    j["properties"] = d.properties;
    j["response_topic"] = d.response_topic;
    j["correlation_data_hex"] = to_hex(d.correlation_data);
    return j;
}

}  // namespace routemq::detail
