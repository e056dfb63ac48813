#include "routemq/router.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "routemq/errors.hpp"
#include "routemq/settings.hpp"
#include "settings_table.hpp"

namespace routemq {

const char* priority_name(priority p) noexcept {
    switch (p) {
        case priority::low:
            return "low";
        case priority::high:
            return "high";
        case priority::normal:
            break;
    }
    return "normal";
}

namespace {

/// Each handler slot is a process; past this a pod is better scaled by replicas.
constexpr int kMaxConcurrency = 256;
/// Most workers a route can autoscale to.
constexpr int kMaxWorkers = 256;

std::string demangle(const char* symbol) {
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> out(
        abi::__cxa_demangle(symbol, nullptr, nullptr, &status), &std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(symbol);
}

/// Never looks for separate debug information (nor asks a debuginfod server): the file's own
/// symbol table is all a name needs.
int no_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*, GElf_Word,
                 char**) {
    return -1;
}

/// The symbol at `address` from the full symbol table of the file it is in (elfutils): a function
/// in an anonymous namespace, or static, is a local symbol, which the dynamic symbol table that
/// dladdr reads never has. Empty when the file is stripped or cannot be read. The process's
/// modules are read once, at the first such handler.
std::string local_symbol(const void* address) {
    static const Dwfl_Callbacks callbacks = {.find_elf = dwfl_linux_proc_find_elf,
                                             .find_debuginfo = no_debuginfo,
                                             .section_address = nullptr,
                                             .debuginfo_path = nullptr};
    static std::mutex mu;
    static Dwfl* dwfl = nullptr;  // for the life of the process
    std::lock_guard lock(mu);
    if (dwfl == nullptr) {
        dwfl = dwfl_begin(&callbacks);
        if (dwfl == nullptr) {
            return {};
        }
        if (dwfl_linux_proc_report(dwfl, getpid()) != 0 ||
            dwfl_report_end(dwfl, nullptr, nullptr) != 0) {
            dwfl_end(dwfl);
            dwfl = nullptr;
            return {};
        }
    }
    const auto at = reinterpret_cast<Dwarf_Addr>(address);
    Dwfl_Module* module = dwfl_addrmodule(dwfl, at);
    const char* name = module != nullptr ? dwfl_module_addrname(module, at) : nullptr;
    return name != nullptr ? std::string(name) : std::string();
}

std::string trim_slashes(std::string s) {
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

std::string strip_leading_slashes(const std::string& s) {
    auto first = s.find_first_not_of('/');
    return first == std::string::npos ? std::string() : s.substr(first);
}

/// Refuses a route whose MQTT filter an earlier route already has. Both would take every message
/// of that filter: one subscription for both, or, shared and not, one copy each.
[[noreturn]] void refuse_same_filter(const route& earlier, const pattern& compiled, bool shared) {
    const auto& text = compiled.text();
    const auto which = [](bool s) { return s ? "shared" : "not shared"; };
    const bool same_sharing = earlier.options.shared == shared;
    std::string what;
    if (earlier.pattern.text() == text) {
        what = fmt::format("route '{}' is registered twice, {}", text,
                           same_sharing ? fmt::format("both {}", which(shared))
                                        : std::string("once shared and once not"));
    } else if (same_sharing) {
        what = fmt::format("routes '{}' and '{}' have the same MQTT filter '{}' (both {})",
                           earlier.pattern.text(), text, compiled.filter(), which(shared));
    } else {
        what = fmt::format("routes '{}' ({}) and '{}' ({}) have the same MQTT filter '{}'",
                           earlier.pattern.text(), which(earlier.options.shared), text,
                           which(shared), compiled.filter());
    }
    if (!same_sharing) {
        throw route_error(fmt::format(
            "invalid route '{}': {}: every message would run twice, once in the share group and "
            "once more outside it. Keep one of them (shared = true spreads the messages over the "
            "workers); if both are really wanted, give them different filters",
            text, what));
    }
    throw route_error(fmt::format(
        "invalid route '{}': {}: every message would run both handlers{}. Register one route "
        "whose handler does both (or put the common part in middleware); allow_overlap does not "
        "allow this: it is for different filters that overlap (like 'a/+' and 'a/#'), never the "
        "same filter twice",
        text, what,
        shared ? ", or, with --workers, only the one whose worker the broker picks" : ""));
}

}  // namespace

namespace detail {

std::string function_name(const void* address) {
    Dl_info info{};
    std::string symbol;
    if (dladdr(address, &info) != 0 && info.dli_sname != nullptr) {
        symbol = info.dli_sname;
    } else {
        symbol = local_symbol(address);
    }
    if (!symbol.empty()) {
        auto name = demangle(symbol.c_str());
        // "ns::f(routemq::context&)" -> "ns::f"; "(anonymous namespace)::f(...)" keeps its
        // first parentheses: the parameter list is the one that closes the name.
        if (!name.empty() && name.back() == ')') {
            int depth = 0;
            for (auto i = name.size(); i-- > 0;) {
                depth += name[i] == ')' ? 1 : name[i] == '(' ? -1 : 0;
                if (depth == 0) {
                    name.resize(i);
                    break;
                }
            }
        }
        return name;
    }
    return fmt::format("function@{}", address);
}

std::string type_name(const std::type_info& type) {
    return demangle(type.name());
}

std::string join_levels(const std::string& prefix, const std::string& pattern) {
    std::string out = trim_slashes(prefix);
    auto tail = strip_leading_slashes(pattern);
    if (!out.empty() && !tail.empty()) {
        out += '/';
    }
    return out + tail;
}

}  // namespace detail

route_group::route_group(router& r, std::string prefix, std::vector<middleware> middleware)
    : router_(&r), prefix_(trim_slashes(std::move(prefix))), middleware_(std::move(middleware)) {}

route_group route_group::group(group_options options) const {
    auto prefix = detail::join_levels(prefix_, options.prefix);
    auto mw = middleware_;
    mw.insert(mw.end(), options.middleware.begin(), options.middleware.end());
    return route_group(*router_, std::move(prefix), std::move(mw));
}

route_group router::group(group_options options) {
    return route_group(*this, std::move(options.prefix), std::move(options.middleware));
}

void router::add_route(const std::string& text, handler h, std::string name, route_options options,
                       const std::vector<middleware>& outer) {
    routemq::pattern compiled(text);
    if (options.qos < 0 || options.qos > 2) {
        throw route_error(
            fmt::format("invalid route '{}': qos is {}, allowed 0, 1 or 2", text, options.qos));
    }
    if (options.worker_count < 1) {
        throw route_error(fmt::format("invalid route '{}': worker_count is {}, must be at least 1",
                                      text, options.worker_count));
    }
    if (options.worker_count != 1 && !options.shared) {
        throw route_error(fmt::format(
            "invalid route '{}': worker_count {} needs shared = true (a route that is not shared "
            "is served by exactly one process): add .shared = true for it to apply, or remove "
            "worker_count",
            text, options.worker_count));
    }
    if (options.min_workers < 0 || options.min_workers > kMaxWorkers || options.max_workers < 0 ||
        options.max_workers > kMaxWorkers) {
        throw route_error(fmt::format(
            "invalid route '{}': min_workers is {} and max_workers {}, allowed 0 to {} each", text,
            options.min_workers, options.max_workers, kMaxWorkers));
    }
    if (options.max_workers > 0 && options.min_workers > options.max_workers) {
        throw route_error(
            fmt::format("invalid route '{}': min_workers {} is more than max_workers {}", text,
                        options.min_workers, options.max_workers));
    }
    if ((options.min_workers > 0 || options.max_workers > 0) && !options.shared) {
        std::string set;  // the options given, with their values
        if (options.min_workers > 0) {
            set = fmt::format("min_workers {}", options.min_workers);
        }
        if (options.max_workers > 0) {
            set += fmt::format("{}max_workers {}", set.empty() ? "" : " and ", options.max_workers);
        }
        const bool both = options.min_workers > 0 && options.max_workers > 0;
        throw route_error(fmt::format(
            "invalid route '{}': {} {} shared = true (a route that is not shared is served by "
            "exactly one process): add .shared = true for autoscaling to apply, or remove {}",
            text, set, both ? "need" : "needs", both ? "them" : "it"));
    }
    if (options.concurrency < 1 || options.concurrency > kMaxConcurrency) {
        throw route_error(fmt::format("invalid route '{}': concurrency is {}, allowed 1 to {}",
                                      text, options.concurrency, kMaxConcurrency));
    }
    if (options.concurrency > 1 && !options.shared) {
        // Each handler slot is a session of its own: without a share group every slot would
        // receive every message.
        throw route_error(fmt::format(
            "invalid route '{}': concurrency {} needs shared = true (each handler slot is a "
            "subscriber of its own; without a share group each would get every message): add "
            ".shared = true for it to apply, or remove concurrency",
            text, options.concurrency));
    }
    if (options.priority != priority::low && options.priority != priority::normal &&
        options.priority != priority::high) {
        throw route_error(fmt::format("invalid route '{}': priority {} is not low, normal or high",
                                      text, static_cast<int>(options.priority)));
    }
    if (!is_plain_name(options.pool)) {
        throw route_error(fmt::format(
            "invalid route '{}': pool '{}' must be 1-64 letters, digits, '-', '_' or '.'", text,
            options.pool));
    }
    if (!h) {
        throw route_error(fmt::format("invalid route '{}': the handler is empty", text));
    }
    if (options.no_local && options.shared) {
        // MQTT 5 (3.8.3.1) makes No Local on a shared subscription a protocol error.
        throw route_error(fmt::format(
            "invalid route '{}': no_local cannot be set on a shared route (MQTT 5 forbids it)",
            text));
    }
    if (options.timeout && options.timeout->count() < 0) {
        throw route_error(fmt::format("invalid route '{}': timeout is negative", text));
    }
    if (const auto& r = options.retry) {
        if (r->attempts < 1 || r->backoff.count() < 0 || r->backoff_max < r->backoff ||
            r->jitter < 0 || r->jitter > 1) {
            throw route_error(fmt::format(
                "invalid route '{}': retry needs attempts >= 1, 0 <= backoff <= backoff_max and "
                "jitter in [0, 1]",
                text));
        }
    }
    if (options.dead_letter_topic.find_first_of("+#") != std::string::npos) {
        throw route_error(fmt::format("invalid route '{}': dead_letter_topic '{}' has a wildcard",
                                      text, options.dead_letter_topic));
    }
    if (auto earlier = filters_.find(compiled.filter()); earlier != filters_.end()) {
        refuse_same_filter(routes_[earlier->second], compiled, options.shared);
    }
    // Compose the onion once: the first listed middleware ends up outermost.
    std::vector<middleware> layers = outer;
    layers.insert(layers.end(), options.middleware.begin(), options.middleware.end());
    handler chain = std::move(h);
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        if (!*it) {
            throw route_error(fmt::format("invalid route '{}': a middleware is empty", text));
        }
        chain = [layer = *it, next = std::move(chain)](context& ctx) { layer(ctx, next); };
    }
    routes_.push_back(
        route{std::move(compiled), std::move(options), std::move(chain), std::move(name)});
    filters_.emplace(routes_.back().pattern.filter(), routes_.size() - 1);
}

}  // namespace routemq
