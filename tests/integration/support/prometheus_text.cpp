#include "support/prometheus_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace test {
namespace {

[[noreturn]] void bad(std::size_t line_no, std::string_view line, const std::string& why) {
    throw std::runtime_error("exposition line " + std::to_string(line_no) + ": " + why + ": '" +
                             std::string(line) + "'");
}

bool name_char(char c, bool first, bool colon) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view s, bool metric) {
    if (s.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!name_char(s[i], i == 0, metric)) {
            return false;
        }
    }
    return true;
}

bool parse_value(std::string_view s, double& out) {
    if (s == "NaN") {
        out = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    if (s == "+Inf" || s == "-Inf") {
        out = (s[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
        return true;
    }
    if (s.empty()) {
        return false;
    }
    const std::string copy(s);
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return end == copy.c_str() + copy.size() && std::isfinite(out);
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct family_state {
    std::string type;
    bool help = false;
    bool has_samples = false;
};

/// The series key: name and labels (sorted by the map), for duplicate detection and grouping.
std::string series_key(const std::string& name, const std::map<std::string, std::string>& labels,
                       std::string_view skip = {}) {
    std::string key = name + "{";
    for (const auto& [k, v] : labels) {
        if (k != skip) {
            key += k + "=\"" + v + "\",";
        }
    }
    return key + "}";
}

prom_sample parse_sample(std::size_t no, std::string_view line) {
    prom_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') {
        ++i;
    }
    s.name = std::string(line.substr(0, i));
    if (!valid_name(s.name, true)) {
        bad(no, line, "invalid metric name");
    }
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (true) {
            if (i < line.size() && line[i] == '}') {
                ++i;
                break;
            }
            const auto eq = line.find('=', i);
            if (eq == std::string_view::npos) {
                bad(no, line, "label without '='");
            }
            const std::string label(line.substr(i, eq - i));
            if (!valid_name(label, false) || label.rfind("__", 0) == 0) {
                bad(no, line, "invalid label name '" + label + "'");
            }
            i = eq + 1;
            if (i >= line.size() || line[i] != '"') {
                bad(no, line, "label value not quoted");
            }
            ++i;
            std::string value;
            while (true) {
                if (i >= line.size()) {
                    bad(no, line, "unterminated label value");
                }
                const char c = line[i++];
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    if (i >= line.size()) {
                        bad(no, line, "dangling escape");
                    }
                    const char e = line[i++];
                    if (e == 'n') {
                        value += '\n';
                    } else if (e == '\\' || e == '"') {
                        value += e;
                    } else {
                        bad(no, line, "invalid escape in label value");
                    }
                } else if (c == '\n') {
                    bad(no, line, "raw newline in label value");
                } else {
                    value += c;
                }
            }
            if (!s.labels.emplace(label, value).second) {
                bad(no, line, "label '" + label + "' repeated");
            }
            if (i < line.size() && line[i] == ',') {
                ++i;
            } else if (i >= line.size() || line[i] != '}') {
                bad(no, line, "expected ',' or '}' after a label");
            }
        }
    }
    if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) {
        bad(no, line, "no value");
    }
    std::istringstream rest{std::string(line.substr(i))};
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!parse_value(value, s.value)) {
        bad(no, line, "invalid value '" + value + "'");
    }
    if (!extra.empty() ||
        (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos)) {
        bad(no, line, "junk after the value");
    }
    return s;
}

/// The family a sample belongs to: its own name, or a histogram/summary's base name.
std::string family_of(std::size_t no, std::string_view line, const std::string& name,
                      const std::map<std::string, family_state>& families) {
    if (families.count(name) != 0) {
        return name;
    }
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (ends_with(name, suffix)) {
            const auto base = name.substr(0, name.size() - suffix.size());
            auto it = families.find(base);
            if (it != families.end() &&
                (it->second.type == "histogram" ||
                 (it->second.type == "summary" && suffix != std::string_view("_bucket")))) {
                return base;
            }
        }
    }
    bad(no, line, "sample of a family without a TYPE line");
}

void check_histograms(const prom_exposition& e) {
    for (const auto& [family, type] : e.types) {
        if (type != "histogram") {
            continue;
        }
        // Series (labels without le) -> buckets in order of appearance.
        std::map<std::string, std::vector<std::pair<double, double>>> buckets;
        std::map<std::string, double> counts;
        std::set<std::string> sums;
        for (const auto& s : e.samples) {
            if (s.name == family + "_bucket") {
                auto le = s.labels.find("le");
                double bound = 0;
                if (le == s.labels.end() || !parse_value(le->second, bound)) {
                    throw std::runtime_error(family + ": bucket without a valid le label");
                }
                buckets[series_key(family, s.labels, "le")].emplace_back(bound, s.value);
            } else if (s.name == family + "_count") {
                counts[series_key(family, s.labels)] = s.value;
            } else if (s.name == family + "_sum") {
                sums.insert(series_key(family, s.labels));
            }
        }
        for (const auto& [series, list] : buckets) {
            for (std::size_t i = 1; i < list.size(); ++i) {
                if (!(list[i].first > list[i - 1].first) || list[i].second < list[i - 1].second) {
                    throw std::runtime_error(series + ": buckets not cumulative in le order");
                }
            }
            if (list.empty() || !std::isinf(list.back().first)) {
                throw std::runtime_error(series + ": no le=\"+Inf\" bucket");
            }
            auto count = counts.find(series);
            if (count == counts.end() || count->second != list.back().second) {
                throw std::runtime_error(series + ": _count missing or not the +Inf bucket");
            }
            if (sums.count(series) == 0) {
                throw std::runtime_error(series + ": no _sum");
            }
        }
    }
}

bool matches(const prom_sample& s, const std::string& name,
             const std::map<std::string, std::string>& labels) {
    if (s.name != name) {
        return false;
    }
    return std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
        auto it = s.labels.find(kv.first);
        return it != s.labels.end() && it->second == kv.second;
    });
}

}  // namespace

double prom_exposition::sum(const std::string& name,
                            const std::map<std::string, std::string>& labels) const {
    double total = 0;
    for (const auto& s : samples) {
        if (matches(s, name, labels)) {
            total += s.value;
        }
    }
    return total;
}

std::size_t prom_exposition::count(const std::string& name,
                                   const std::map<std::string, std::string>& labels) const {
    return static_cast<std::size_t>(std::count_if(
        samples.begin(), samples.end(), [&](const auto& s) { return matches(s, name, labels); }));
}

prom_exposition parse_prometheus(const std::string& text) {
    if (!text.empty() && text.back() != '\n') {
        throw std::runtime_error("exposition does not end with a newline");
    }
    prom_exposition out;
    std::map<std::string, family_state> families;
    std::set<std::string> series;
    std::string current;
    std::istringstream in(text);
    std::string line;
    std::size_t no = 0;
    while (std::getline(in, line)) {
        ++no;
        if (line.empty()) {
            continue;
        }
        if (line[0] == '#') {
            std::istringstream words(line.substr(1));
            std::string keyword, name, rest;
            words >> keyword >> name;
            if (keyword != "HELP" && keyword != "TYPE") {
                continue;  // a comment
            }
            if (!valid_name(name, true)) {
                bad(no, line, "invalid metric name in " + keyword);
            }
            auto& f = families[name];
            if (f.has_samples) {
                bad(no, line, keyword + " after the family's samples");
            }
            if (keyword == "HELP") {
                if (f.help) {
                    bad(no, line, "second HELP");
                }
                f.help = true;
                continue;
            }
            words >> rest;
            if (!f.type.empty()) {
                bad(no, line, "second TYPE");
            }
            static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                         "untyped"};
            if (kTypes.count(rest) == 0) {
                bad(no, line, "unknown type '" + rest + "'");
            }
            if (rest == "counter" &&
                (!ends_with(name, "_total") || ends_with(name, "_total_total"))) {
                bad(no, line, "counter not named ..._total exactly once");
            }
            f.type = rest;
            out.types[name] = rest;
            continue;
        }
        auto sample = parse_sample(no, line);
        const auto family = family_of(no, line, sample.name, families);
        auto& f = families[family];
        if (family != current && f.has_samples) {
            bad(no, line, "family '" + family + "' interleaved with another");
        }
        current = family;
        f.has_samples = true;
        if (!series.insert(series_key(sample.name, sample.labels)).second) {
            bad(no, line, "series repeated");
        }
        if (f.type == "counter" && !(sample.value >= 0)) {
            bad(no, line, "negative or NaN counter");
        }
        out.samples.push_back(std::move(sample));
    }
    check_histograms(out);
    return out;
}

}  // namespace test
