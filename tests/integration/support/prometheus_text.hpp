#pragma once

#include <map>
#include <string>
#include <vector>

namespace test {

/// One sample line of a Prometheus text exposition.
struct prom_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// A parsed and checked exposition.
struct prom_exposition {
    /// Family name -> counter, gauge, histogram, summary or untyped.
    std::map<std::string, std::string> types;
    std::vector<prom_sample> samples;

    /// Sum of the samples named `name` whose labels include every pair of `labels`.
    double sum(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const;
    /// How many samples match as for sum().
    std::size_t count(const std::string& name,
                      const std::map<std::string, std::string>& labels = {}) const;
};

/// Parses the text exposition format 0.0.4 and checks what Prometheus and its linter check:
/// syntax of names, labels, escapes and values; TYPE/HELP at most once and before the family's
/// samples; a family's samples together; no repeated series; counters named `..._total` (once)
/// and never negative; histograms with `le` buckets that are cumulative, end in `+Inf` equal to
/// `_count`, and have a `_sum`. Throws std::runtime_error naming the line on the first violation.
prom_exposition parse_prometheus(const std::string& text);

}  // namespace test
