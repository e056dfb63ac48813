#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace routemq::detail {

/// `value` as a YAML 1.2 block document that any YAML reader (1.1 or 1.2) reads back as the same
/// JSON value. Keys and strings are plain only when no reader could take them for anything else
/// (they start with a letter, '_', '$' or '/', hold only letters, digits and `_./$+-` and inner
/// spaces, and are not a word such as `yes`, `on` or `null`); every other string is
/// double-quoted with JSON's escapes, which YAML's double-quoted style shares, plus those YAML
/// needs beyond JSON (DEL and the C1 controls). Invalid UTF-8 becomes U+FFFD, as in the JSON
/// output.
std::string to_yaml(const nlohmann::ordered_json& value);

/// The text of one string scalar as to_yaml writes it: plain or double-quoted.
std::string yaml_string(const std::string& text);

}  // namespace routemq::detail
