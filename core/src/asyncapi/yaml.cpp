#include "asyncapi/yaml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string_view>

namespace routemq::detail {
namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t kLongestImplicitKey = 1024;

/// Words that YAML 1.1 (`yes`, `on`, ...) or 1.2 (`true`, `null`) reads as booleans or null.
bool reserved_word(std::string_view text) {
    static constexpr std::array<std::string_view, 9> kWords = {"y",   "n",    "yes",   "no",  "on",
                                                               "off", "true", "false", "null"};
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::find(kWords.begin(), kWords.end(), lower) != kWords.end();
}

bool plain_safe(std::string_view text) {
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (text.empty() || !(letter(text.front()) || text.front() == '_' || text.front() == '$' ||
                          text.front() == '/')) {
        return false;
    }
    if (text.back() == ' ' || reserved_word(text)) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [&](char c) {
        return letter(c) || (c >= '0' && c <= '9') ||
               std::string_view("_./$+- ").find(c) != std::string_view::npos;
    });
}

/// Characters a YAML reader may not take as they are in a double-quoted scalar, although JSON
/// does: DEL, the C1 controls, the line separators YAML 1.1 folds (U+0085, U+2028, U+2029), the
/// byte order mark and the non-characters U+FFFE and U+FFFF.
bool needs_escape(char32_t c) {
    return c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
           c == 0xfffe || c == 0xffff;
}

/// JSON's quoted string (which YAML's double-quoted style reads the same), with the characters
/// of needs_escape() escaped as well.
std::string quoted(const std::string& text) {
    // Valid UTF-8 from here on: the error handler replaced what was not.
    const auto dumped = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    for (std::size_t i = 0; i < dumped.size();) {
        const auto lead = static_cast<unsigned char>(dumped[i]);
        const std::size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
        char32_t c = length == 1 ? lead : lead & (0x7f >> length);
        for (std::size_t k = 1; k < length; ++k) {
            c = (c << 6) | (static_cast<unsigned char>(dumped[i + k]) & 0x3f);
        }
        if (needs_escape(c)) {
            out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(c));
        } else {
            out.append(dumped, i, length);
        }
        i += length;
    }
    return out;
}

bool is_block(const json& v) {
    return (v.is_object() || v.is_array()) && !v.empty();
}

std::string scalar(const json& v) {
    if (v.is_string()) {
        return yaml_string(v.get<std::string>());
    }
    if (v.is_object()) {
        return "{}";  // empty: is_block() takes the others
    }
    if (v.is_array()) {
        return "[]";
    }
    return v.dump();  // null, true/false and numbers read the same in YAML
}

/// Appends the block collection `v` (not empty), its lines indented by `indent` spaces.
void emit(const json& v, std::size_t indent, std::string& out) {
    const std::string pad(indent, ' ');
    if (v.is_object()) {
        for (const auto& [key, item] : v.items()) {
            // YAML limits an implicit key to 1024 characters; a longer one (a channel of a
            // very long pattern) is written as an explicit key, "? key" then ": value".
            const auto text = yaml_string(key);
            out +=
                pad + (text.size() > kLongestImplicitKey ? "? " + text + '\n' + pad : text) + ':';
            if (is_block(item)) {
                out += '\n';
                emit(item, indent + 2, out);
            } else {
                out += ' ' + scalar(item) + '\n';
            }
        }
        return;
    }
    for (const auto& item : v) {
        if (!is_block(item)) {
            out += pad + "- " + scalar(item) + '\n';
            continue;
        }
        // A collection in a sequence starts on the dash's line: its first line, indented two
        // more, gets the dash in its indentation ("- key: value", "- - item").
        const auto start = out.size();
        emit(item, indent + 2, out);
        out.replace(start + indent, 2, "- ");
    }
}

}  // namespace

std::string yaml_string(const std::string& text) {
    return plain_safe(text) ? text : quoted(text);
}

std::string to_yaml(const json& value) {
    if (!is_block(value)) {
        return scalar(value) + '\n';
    }
    std::string out;
    emit(value, 0, out);
    return out;
}

}  // namespace routemq::detail
