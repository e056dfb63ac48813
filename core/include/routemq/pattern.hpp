#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace routemq {

/// Named values captured from a topic by `{name}` levels, in pattern order.
///
/// Views point into the route's pattern and the message's topic; they are valid for the
/// duration of one dispatch.
class params {
public:
    /// The value captured for `name`; throws routemq::error when the pattern has no such name.
    std::string_view at(std::string_view name) const;
    /// The value captured for `name`, or an empty view when there is none.
    std::string_view get(std::string_view name) const noexcept;
    bool contains(std::string_view name) const noexcept;
    std::size_t size() const noexcept { return items_.size(); }
    auto begin() const noexcept { return items_.begin(); }
    auto end() const noexcept { return items_.end(); }

private:
    /// Filled by pattern::match only.
    friend class pattern;
    void add(std::string_view name, std::string_view value) { items_.emplace_back(name, value); }
    void truncate(std::size_t n) { items_.resize(n); }

    std::vector<std::pair<std::string_view, std::string_view>> items_;
};

/// A compiled topic pattern such as `sensors/{device_id}/data`.
///
/// `{name}` captures one level, `+` matches one level without capture and `#` (last level only)
/// matches the rest, including the parent level itself, as in MQTT. Compilation validates the
/// pattern and throws routemq::pattern_error naming it.
class pattern {
public:
    explicit pattern(std::string text);

    /// The pattern as written.
    const std::string& text() const noexcept { return text_; }
    /// The MQTT topic filter to subscribe to (`sensors/+/data`).
    const std::string& filter() const noexcept { return filter_; }
    /// Names of the `{name}` levels, in order.
    const std::vector<std::string>& param_names() const noexcept { return names_; }

    /// True when `topic` matches; captured values are appended to `out`.
    bool match(std::string_view topic, params& out) const;
    /// True when `topic` matches.
    bool matches(std::string_view topic) const;

private:
    enum class kind { literal, capture, single, rest };
    struct level {
        kind k;
        std::string text;  // literal text, or the capture's name
    };

    std::string text_;
    std::string filter_;
    std::vector<std::string> names_;
    std::vector<level> levels_;
};

/// True when some topic matches both MQTT filters (used to warn about overlapping routes).
bool filters_overlap(std::string_view a, std::string_view b);

/// True when `topic` matches the MQTT `filter` (`+`, `#`, and `$` topics as in MQTT).
bool filter_matches(std::string_view filter, std::string_view topic);

}  // namespace routemq
