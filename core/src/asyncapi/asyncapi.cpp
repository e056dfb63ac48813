#include "asyncapi/asyncapi.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "routing/subscriptions.hpp"

namespace routemq::detail {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kBindingVersion = "0.2.0";
/// The key of the reply channel; no route's channel takes it.
constexpr std::string_view kReplyChannel = "response";

/// The levels of a pattern (already validated when the route was registered).
std::vector<std::string> levels_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto slash = text.find('/', start);
        out.push_back(text.substr(start, slash - start));
        if (slash == std::string::npos) {
            return out;
        }
        start = slash + 1;
    }
}

bool is_capture(const std::string& level) {
    return level.size() > 2 && level.front() == '{' && level.back() == '}';
}

/// A character AsyncAPI allows in a key, '.' aside (it separates levels here).
bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/// `text` with every character that is not a key_char() replaced by '_'; "_" when empty.
std::string key_part(std::string_view text) {
    std::string out;
    for (const char c : text) {
        out += key_char(c) ? c : '_';
    }
    return out.empty() ? "_" : out;
}

/// `wanted`, or `wanted-2`, `wanted-3`, ... whichever `taken` does not hold yet; then taken.
std::string unique(std::string wanted, std::set<std::string>& taken) {
    std::string key = wanted;
    for (int n = 2; taken.count(key) > 0; ++n) {
        key = fmt::format("{}-{}", wanted, n);
    }
    taken.insert(key);
    return key;
}

/// A channel's address and parameters: `{name}` levels stay as they are; a `+` level becomes
/// the parameter `levelN` and `#` the parameter `rest` (made unique against the captures),
/// since a topic has no wildcards: the address is what a sender publishes to.
struct address {
    std::string text;
    json parameters = json::object();
};

address channel_address(const route& rt) {
    const auto levels = levels_of(rt.pattern.text());
    std::set<std::string> names(rt.pattern.param_names().begin(), rt.pattern.param_names().end());
    const auto fresh = [&](std::string wanted) {
        while (names.count(wanted) > 0) {
            wanted += '_';
        }
        names.insert(wanted);
        return wanted;
    };
    address out;
    for (std::size_t i = 0; i < levels.size(); ++i) {
        const auto& level = levels[i];
        const auto n = i + 1;
        std::string name;
        std::string description;
        if (is_capture(level)) {
            name = level.substr(1, level.size() - 2);
            description = fmt::format("Topic level {}, captured: ctx.param(\"{}\").", n, name);
        } else if (level == "+") {
            name = fresh(fmt::format("level{}", n));
            description = fmt::format("Topic level {}: any value (`+` in the pattern).", n);
        } else if (level == "#") {
            name = fresh("rest");
            description = i == 0 ? std::string(
                                       "The whole topic (`#` in the pattern), one or more "
                                       "'/'-separated levels; not a topic starting with '$'.")
                                 : fmt::format(
                                       "The levels from level {} on, '/'-separated (`#` in the "
                                       "pattern). The pattern also matches `{}` alone.",
                                       n, out.text);
        } else {
            out.text += (i == 0 ? "" : "/") + level;
            continue;
        }
        out.text += fmt::format("{}{{{}}}", i == 0 ? "" : "/", name);
        out.parameters[name] = json{{"description", description}};
    }
    return out;
}

/// The operation's key: a handler named like a function (`app::sensor_controller::process_data`,
/// or a route's `name` such as `orders.place`) with `::` made `.`; any other handler (a lambda,
/// a callable type: `ns::f()::{lambda(routemq::context&)#1}`) `receive.<channel key>`.
std::string operation_key(const std::string& handler_name, const std::string& channel_id) {
    std::string out;
    for (std::size_t i = 0; i < handler_name.size(); ++i) {
        const char c = handler_name[i];
        if (handler_name.compare(i, 2, "::") == 0) {
            out += '.';
            ++i;
        } else if (c == '.' || key_char(c)) {
            out += c;
        } else {
            return "receive." + channel_id;
        }
    }
    return out.empty() ? "receive." + channel_id : out;
}

/// The MQTT bindings of a message a caller may send as a request, and of the answers.
json request_bindings() {
    return {{"mqtt",
             {{"responseTopic",
               {{"type", "string"},
                {"description",
                 "Optional: makes the message a request, answered on this topic (see the "
                 "operation's reply)."}}},
              {"correlationData",
               {{"type", "string"},
                {"description", "Optional: sent back unchanged with every answer."}}},
              {"bindingVersion", kBindingVersion}}}};
}

json reply_bindings() {
    return {{"mqtt",
             {{"correlationData",
               {{"type", "string"}, {"description", "The request's Correlation Data, unchanged."}}},
              {"bindingVersion", kBindingVersion}}}};
}

json reply_channel() {
    const json correlation = {{"$ref", "#/components/messageBindings/reply"}};
    const auto status_header = [](std::string_view status) {
        return json{{"type", "object"},
                    {"description", "MQTT 5 user properties."},
                    {"properties", {{"routemq-status", {{"type", "string"}, {"const", status}}}}},
                    {"required", {"routemq-status"}}};
    };
    json messages = json::object();
    messages["accepted"] = {{"name", "accepted"},
                            {"title", "Accepted"},
                            {"summary", "Sent by RouteMQ before the handler first runs."},
                            {"headers", status_header("accepted")},
                            {"payload", {{"type", "string"}, {"maxLength", 0}}},
                            {"bindings", correlation}};
    messages["progress"] = {
        {"name", "progress"},
        {"title", "Progress"},
        {"summary", "Sent by the handler's ctx.progress(fraction, note), any number of times."},
        {"contentType", "application/json"},
        {"headers", status_header("progress")},
        {"payload",
         {{"type", "object"},
          {"properties", {{"progress", {{"type", "number"}}}, {"note", {{"type", "string"}}}}},
          {"required", {"progress", "note"}}}},
        {"bindings", correlation}};
    messages["done"] = {
        {"name", "done"},
        {"title", "Done"},
        {"summary",
         "The handler's answer (ctx.reply), as it wrote it; empty when it returned without "
         "replying."},
        {"headers", status_header("done")},
        {"bindings", correlation}};
    messages["failed"] = {
        {"name", "failed"},
        {"title", "Failed"},
        {"summary",
         "Sent by RouteMQ when the request is dead-lettered: every retry failed (failed), its "
         "payload was unusable (payload), or it killed too many workers (poison)."},
        {"contentType", "application/json"},
        {"headers", status_header("failed")},
        {"payload",
         {{"type", "object"},
          {"properties",
           {{"reason", {{"type", "string"}, {"enum", {"failed", "payload", "poison"}}}},
            {"error", {{"type", "string"}}}}},
          {"required", {"reason", "error"}}}},
        {"bindings", correlation}};
    return {{"address", nullptr},
            {"title", "Response Topic"},
            {"description",
             "The Response Topic an MQTT 5 request names, chosen by each caller (routemq::client "
             "listens on routemq/replies/<client id>-<random>). Every route answers a request: "
             "accepted, then any progress, then done or failed, all at QoS 1, all carrying the "
             "request's Correlation Data and the user property routemq-status. A message without "
             "a Response Topic is not answered."},
            {"messages", messages}};
}

}  // namespace

std::vector<std::string> asyncapi_channel_ids(const router& r) {
    std::set<std::string> taken{std::string(kReplyChannel)};
    std::vector<std::string> out;
    for (const auto& rt : r.routes()) {
        std::string key;
        for (const auto& level : levels_of(rt.pattern.text())) {
            const auto part = is_capture(level) ? level.substr(1, level.size() - 2)
                              : level == "+"    ? std::string("any")
                              : level == "#"    ? std::string("all")
                                                : key_part(level);
            key += (key.empty() ? "" : ".") + part;
        }
        out.push_back(unique(key, taken));
    }
    return out;
}

json asyncapi_document(const router& r, const settings& s, const asyncapi_options& options) {
    const bool mqtt5 = s.mqtt.protocol == mqtt_protocol::v5;
    json doc;
    doc["asyncapi"] = "3.0.0";
    std::string description =
        "Generated by `routemq asyncapi` from the application's route table: one channel and "
        "one receive operation per route.";
    if (!options.pools.empty()) {
        std::string pools;
        for (const auto& p : options.pools) {
            pools += (pools.empty() ? "" : ", ") + p;
        }
        description += fmt::format(" Only the routes of the pools {}.", pools);
    }
    doc["info"] = {
        {"title", options.title}, {"version", options.version}, {"description", description}};
    const bool ipv6 = s.mqtt.broker.find(':') != std::string::npos;
    doc["servers"] = {
        {"broker",
         {{"host", ipv6 ? fmt::format("[{}]:{}", s.mqtt.broker, s.mqtt.port)
                        : fmt::format("{}:{}", s.mqtt.broker, s.mqtt.port)},
          {"protocol", s.tls.enabled ? "secure-mqtt" : "mqtt"},
          {"protocolVersion", mqtt5 ? "5" : "3.1.1"},
          {"description", "The broker of MQTT_BROKER and MQTT_PORT."},
          {"bindings",
           {{"mqtt",
             {{"keepAlive", s.mqtt.keepalive.count()}, {"bindingVersion", kBindingVersion}}}}}}}};

    const auto ids = asyncapi_channel_ids(r);
    std::set<std::string> operation_ids;
    json channels = json::object();
    json operations = json::object();
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        const auto& rt = r.routes()[i];
        if (!options.pools.empty() && std::find(options.pools.begin(), options.pools.end(),
                                                rt.options.pool) == options.pools.end()) {
            continue;  // not served by an instance of these pools
        }
        const auto& id = ids[i];
        auto where = channel_address(rt);
        json message = {{"name", id}, {"title", fmt::format("A message on {}", rt.pattern.text())}};
        if (mqtt5) {
            message["bindings"] = {{"$ref", "#/components/messageBindings/request"}};
        }
        json channel = {{"address", where.text}};
        if (!where.parameters.empty()) {
            channel["parameters"] = std::move(where.parameters);
        }
        channel["title"] = rt.pattern.text();
        channel["messages"] = {{"message", message}};
        channels[id] = std::move(channel);

        const auto ref = fmt::format("#/channels/{}", id);
        json mqtt = {{"qos", rt.options.qos}};
        if (rt.options.shared) {
            mqtt["x-share-group"] = s.mqtt.group_name;
        }
        mqtt["x-subscription"] = subscription_topic(rt, s.mqtt.group_name);
        mqtt["bindingVersion"] = kBindingVersion;
        json operation = {
            {"action", "receive"},
            {"channel", {{"$ref", ref}}},
            {"summary", rt.handler_name},
            {"description",
             rt.options.shared
                 ? fmt::format("Handled by {} in the workers of the share group '{}': the broker "
                               "gives each message to one of them.",
                               rt.handler_name, s.mqtt.group_name)
                 : fmt::format("Handled by {} in every instance that serves the pool '{}'.",
                               rt.handler_name, rt.options.pool)},
            {"messages", {{{"$ref", ref + "/messages/message"}}}},
            {"bindings", {{"mqtt", mqtt}}}};
        if (mqtt5) {
            const auto reply = fmt::format("#/channels/{}", kReplyChannel);
            operation["reply"] = {{"channel", {{"$ref", reply}}},
                                  {"messages",
                                   {{{"$ref", reply + "/messages/accepted"}},
                                    {{"$ref", reply + "/messages/progress"}},
                                    {{"$ref", reply + "/messages/done"}},
                                    {{"$ref", reply + "/messages/failed"}}}}};
        }
        operation["x-routemq"] = {{"pattern", rt.pattern.text()}, {"pool", rt.options.pool}};
        operations[unique(operation_key(rt.handler_name, id), operation_ids)] =
            std::move(operation);
    }
    const bool replies = mqtt5 && !operations.empty();
    if (replies) {
        channels[std::string(kReplyChannel)] = reply_channel();
    }
    doc["channels"] = std::move(channels);
    doc["operations"] = std::move(operations);
    if (replies) {
        doc["components"] = {
            {"messageBindings", {{"request", request_bindings()}, {"reply", reply_bindings()}}}};
    }
    return doc;
}

}  // namespace routemq::detail
