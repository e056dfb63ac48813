#include "cli/dead_letters_command.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <iostream>

#include "dead_letters/store.hpp"
#include "delivery/publish_check.hpp"
#include "routemq/cli.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

using namespace std::chrono_literals;

/// How long it waits for the broker to send the store.
constexpr auto kLoadTimeout = 30s;

std::string when_text(std::int64_t unix_ms) {
    const auto t =
        std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms));
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", std::chrono::floor<std::chrono::seconds>(t));
}

/// `text` safe for a terminal: control characters other than newline and tab (an escape
/// sequence in a payload would clear the screen, recolour it or retitle the window) as \xHH.
std::string terminal_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const unsigned char c : text) {
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string cut(std::string_view text, std::size_t width) {
    if (text.size() <= width) {
        return std::string(text);
    }
    return std::string(text.substr(0, width - 3)) + "...";
}

dead_letter_store open_store(const settings& s, const std::string& id, bool payloads) {
    return dead_letter_store(s, {.name = "dead-letters", .id = id, .keep_payloads = payloads});
}

int list(const settings& s, const dead_letters_request& r) {
    auto store = open_store(s, "", false);
    store.load(kLoadTimeout);
    const auto found = store.list({.route = r.route, .reason = r.reason});
    if (r.json) {
        auto items = nlohmann::json::array();
        for (auto it = found.rbegin(); it != found.rend(); ++it) {
            items.push_back(to_json(*it, false));
        }
        std::cout << items.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return code(exit_status::ok);
    }
    std::cout << fmt::format("{:<30}  {:<19}  {:<24}  {:<7}  {:>8}  {:>7}  {:<24}  {}\n", "ID",
                             "WHEN (UTC)", "ROUTE", "REASON", "ATTEMPTS", "SIZE", "TOPIC", "ERROR");
    for (auto it = found.rbegin(); it != found.rend(); ++it) {  // newest first
        const auto& d = *it;
        std::cout << fmt::format(
            "{:<30}  {:<19}  {:<24}  {:<7}  {:>8}  {:>7}  {:<24}  {}\n", d.id, when_text(d.when_ms),
            cut(terminal_safe(d.facts.route), 24), terminal_safe(d.facts.reason), d.facts.attempts,
            d.size, cut(printable_topic(d.topic), 24), cut(terminal_safe(d.facts.error), 60));
    }
    std::cerr << fmt::format("{} of {} kept dead letters on {}\n", found.size(), store.size(),
                             dead_letter_store_filter(s.mqtt));
    return code(exit_status::ok);
}

int show(const settings& s, const dead_letters_request& r) {
    auto store = open_store(s, r.id, true);
    store.load(kLoadTimeout);
    const auto d = store.find(r.id);
    if (!d) {
        std::cerr << "routemq: dead letter " << r.id << " is not kept\n";
        return code(exit_status::failure);
    }
    const auto j = to_json(*d, true);
    if (r.json) {
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return code(exit_status::ok);
    }
    std::cout << fmt::format(
        "id:        {}\nwhen:      {} UTC\nroute:     {}\nreason:    {}\nattempts:  {}\n"
        "error:     {}\ntopic:     {}\nprocess:   {}\nsize:      {} bytes\n",
        d->id, when_text(d->when_ms), terminal_safe(d->facts.route), terminal_safe(d->facts.reason),
        d->facts.attempts, terminal_safe(d->facts.error), printable_topic(d->topic),
        terminal_safe(d->facts.process), d->size);
    if (!d->response_topic.empty()) {
        std::cout << "response topic:   " << printable_topic(d->response_topic) << '\n';
        std::cout << "correlation data: " << j["correlation_data_hex"].get<std::string>()
                  << " (hex)\n";
    }
    for (const auto& [name, value] : d->properties) {
        std::cout << "property:  " << terminal_safe(name) << ": " << terminal_safe(value) << '\n';
    }
    if (j["payload"].is_string()) {
        std::cout << "payload:\n" << terminal_safe(d->payload) << '\n';
    } else {
        std::cout << "payload (not UTF-8, base64):\n"
                  << j["payload_base64"].get<std::string>() << '\n';
    }
    return code(exit_status::ok);
}

/// replay or purge: one id, a route's or all.
int act(const settings& s, const router& routes, const dead_letters_request& r) {
    const bool replay = r.action == "replay";
    const int chosen = (r.id.empty() ? 0 : 1) + (r.route.empty() ? 0 : 1) + (r.all ? 1 : 0);
    if (chosen != 1) {
        throw config_error(fmt::format("{} takes one of: an ID, --route ROUTE, --all", r.action));
    }
    auto store = open_store(s, r.id, replay);
    store.load(kLoadTimeout);
    std::vector<dead_letter> chosen_letters;
    if (!r.id.empty()) {
        if (auto d = store.find(r.id)) {
            chosen_letters.push_back(std::move(*d));
        } else {
            std::cerr << "routemq: dead letter " << r.id << " is not kept\n";
            return code(exit_status::failure);
        }
    } else {
        chosen_letters = store.list({.route = r.route, .reason = r.reason});
    }
    std::size_t done = 0;
    std::size_t failed = 0;
    for (const auto& d : chosen_letters) {  // oldest first: replayed in the order they failed
        auto problem = replay ? replay_problem(routes, d) : "";
        if (problem.empty()) {
            problem = replay ? store.replay(d) : store.purge(d.id);
        }
        if (problem.empty()) {
            ++done;
            if (!r.id.empty()) {
                std::cout << fmt::format("{} {}{}\n", replay ? "replayed" : "purged", d.id,
                                         replay ? " to " + printable_topic(d.topic) : "");
            }
        } else {
            ++failed;
            std::cerr << fmt::format("routemq: dead letter {} not {}: {}\n", d.id,
                                     replay ? "replayed" : "purged", problem);
        }
    }
    if (r.id.empty()) {
        std::cout << fmt::format("{} {} dead letters{}\n", replay ? "replayed" : "purged", done,
                                 failed > 0 ? fmt::format(", {} not (see above)", failed) : "");
    }
    return failed == 0 ? code(exit_status::ok) : code(exit_status::failure);
}

}  // namespace

int dead_letters_command(const settings& s, const router& r, const dead_letters_request& request) {
    if (!request.id.empty() && !request.reason.empty()) {
        throw config_error("--reason goes with --route or --all, not with an ID");
    }
    if (!request.route.empty() && !r.routes().empty()) {
        std::string patterns;
        for (const auto& rt : r.routes()) {
            if (rt.pattern.text() == request.route) {
                patterns.clear();
                break;
            }
            patterns += (patterns.empty() ? "" : ", ") + rt.pattern.text();
        }
        if (!patterns.empty()) {
            throw config_error(fmt::format(
                "--route takes a route's pattern as `routes` prints it; this application has: {}",
                patterns));
        }
    }
    if (!request.id.empty() && !is_dead_letter_id(request.id)) {
        throw config_error(
            fmt::format("'{}' is not a dead letter's id (as `dead-letters list` prints them: "
                        "1765140000123-9f86d081a1b2c3d4)",
                        printable_topic(request.id)));
    }
    if (request.action == "list") {
        return list(s, request);
    }
    if (request.action == "show") {
        return show(s, request);
    }
    return act(s, r, request);
}

}  // namespace routemq::detail
