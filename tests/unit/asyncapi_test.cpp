#include "asyncapi/asyncapi.hpp"

#include <gtest/gtest.h>

#include <routemq/settings.hpp>
#include <string>

#include "asyncapi/yaml.hpp"

namespace asyncapi_test {
void handle(routemq::context&) {}
}  // namespace asyncapi_test

namespace {

using asyncapi_test::handle;
using json = nlohmann::ordered_json;

json document(const routemq::router& r, const routemq::env_map& environment = {},
              std::vector<std::string> pools = {}) {
    return routemq::detail::asyncapi_document(r, routemq::load_settings({}, environment),
                                              {.title = "t", .version = "1.2.3", .pools = pools});
}

}  // namespace

TEST(AsyncApi, ChannelPerRouteWithItsCapturesAsParameters) {
    routemq::router r;
    r.on("sensors/{device_id}/data", &handle, {.qos = 1});
    r.on("sites/{site}/rooms/{room}", &handle);
    auto doc = document(r);
    EXPECT_EQ(doc["asyncapi"], "3.0.0");
    EXPECT_EQ(doc["info"]["title"], "t");
    EXPECT_EQ(doc["info"]["version"], "1.2.3");
    const auto& sensors = doc["channels"]["sensors.device_id.data"];
    EXPECT_EQ(sensors["address"], "sensors/{device_id}/data");
    ASSERT_EQ(sensors["parameters"].size(), 1u);
    EXPECT_NE(sensors["parameters"]["device_id"]["description"].get<std::string>().find(
                  "ctx.param(\"device_id\")"),
              std::string::npos);
    const auto& rooms = doc["channels"]["sites.site.rooms.room"];
    EXPECT_EQ(rooms["address"], "sites/{site}/rooms/{room}");
    EXPECT_EQ(rooms["parameters"].size(), 2u);
    EXPECT_TRUE(rooms["parameters"].contains("site"));
    EXPECT_TRUE(rooms["parameters"].contains("room"));
}

TEST(AsyncApi, WildcardLevelsBecomeParametersSinceATopicHasNone) {
    routemq::router r;
    r.on("a/+/b/{level2}/#", &handle);
    r.on("plain/topic", &handle);
    auto doc = document(r);
    const auto& channel = doc["channels"]["a.any.b.level2.all"];
    // `+` at level 2 would be {level2}, which the capture has: it gets another name.
    EXPECT_EQ(channel["address"], "a/{level2_}/b/{level2}/{rest}");
    EXPECT_EQ(channel["parameters"].size(), 3u);
    EXPECT_NE(channel["parameters"]["rest"]["description"].get<std::string>().find(
                  "also matches `a/{level2_}/b/{level2}` alone"),
              std::string::npos);
    EXPECT_FALSE(doc["channels"]["plain.topic"].contains("parameters"));
}

TEST(AsyncApi, ReceiveOperationWithTheSubscriptionTheBrokerSees) {
    routemq::router r;
    r.on("jobs/{id}", &handle, {.qos = 2, .shared = true, .worker_count = 3});
    r.on("alerts/{id}", &handle, {.qos = 1, .name = "alerts.log"});
    auto doc = document(r, {{"MQTT_GROUP_NAME", "grp"}});
    const auto& jobs = doc["operations"]["asyncapi_test.handle"];
    EXPECT_EQ(jobs["action"], "receive");
    EXPECT_EQ(jobs["channel"]["$ref"], "#/channels/jobs.id");
    EXPECT_EQ(jobs["messages"][0]["$ref"], "#/channels/jobs.id/messages/message");
    EXPECT_EQ(jobs["bindings"]["mqtt"]["qos"], 2);
    EXPECT_EQ(jobs["bindings"]["mqtt"]["x-share-group"], "grp");
    EXPECT_EQ(jobs["bindings"]["mqtt"]["x-subscription"], "$share/grp/jobs/+");
    EXPECT_EQ(jobs["bindings"]["mqtt"]["bindingVersion"], "0.2.0");
    const auto& alerts = doc["operations"]["alerts.log"];
    EXPECT_EQ(alerts["bindings"]["mqtt"]["qos"], 1);
    EXPECT_FALSE(alerts["bindings"]["mqtt"].contains("x-share-group"));
    EXPECT_EQ(alerts["bindings"]["mqtt"]["x-subscription"], "alerts/+");
}

TEST(AsyncApi, KeysAreUniqueAndLegal) {
    routemq::router r;
    r.on("a/b", &handle, {.allow_overlap = true});
    r.on("a/{b}", &handle, {.allow_overlap = true});
    r.on("response", &handle);
    r.on("we:ird/lev el", &handle);
    const auto ids = routemq::detail::asyncapi_channel_ids(r);
    // The reply channel's key is taken before any route's.
    EXPECT_EQ(ids, (std::vector<std::string>{"a.b", "a.b-2", "response-2", "we_ird.lev_el"}));
    auto doc = document(r);
    EXPECT_EQ(doc["operations"].size(), 4u);  // one handler, four operations
    EXPECT_TRUE(doc["operations"].contains("asyncapi_test.handle-4"));
    EXPECT_EQ(doc["channels"]["response"]["address"], nullptr);
}

TEST(AsyncApi, AnOperationIsNamedAfterItsHandlerWhenThatIsAName) {
    routemq::router r;
    r.on("orders/{id}", [](routemq::context&) {}, {.name = "orders.place"});
    r.on("audit/#", [](routemq::context&) {});
    auto doc = document(r);
    EXPECT_TRUE(doc["operations"].contains("orders.place"));
    // A lambda's name is no name: the operation is named after its channel.
    ASSERT_TRUE(doc["operations"].contains("receive.audit.all")) << doc["operations"].dump();
    EXPECT_NE(doc["operations"]["receive.audit.all"]["summary"].get<std::string>().find("lambda"),
              std::string::npos);
}

TEST(AsyncApi, OnlyTheRoutesOfTheSelectedPools) {
    routemq::router r;
    r.on("gpu/{id}", &handle, {.shared = true, .pool = "gpu"});
    r.on("mail/{id}", &handle, {.shared = true, .pool = "email"});
    auto all = document(r);
    EXPECT_EQ(all["channels"].size(), 3u);  // and the reply channel
    auto gpu = document(r, {}, {"gpu"});
    EXPECT_TRUE(gpu["channels"].contains("gpu.id"));
    EXPECT_FALSE(gpu["channels"].contains("mail.id"));
    EXPECT_EQ(gpu["operations"].size(), 1u);
    EXPECT_EQ(gpu["operations"]["asyncapi_test.handle"]["x-routemq"]["pool"], "gpu");
    EXPECT_NE(gpu["info"]["description"].get<std::string>().find("pools gpu."), std::string::npos);
}

TEST(AsyncApi, EveryRouteAnswersRequestsUnderMqtt5Only) {
    routemq::router r;
    r.on("devices/{id}/command", &handle, {.qos = 1});
    auto v5 = document(r);
    auto& reply = v5["operations"]["asyncapi_test.handle"]["reply"];
    EXPECT_EQ(reply["channel"]["$ref"], "#/channels/response");
    ASSERT_EQ(reply["messages"].size(), 4u);
    auto& response = v5["channels"]["response"];
    for (const auto& ref : reply["messages"]) {
        const auto name = ref["$ref"].get<std::string>().substr(
            std::string("#/channels/response/messages/").size());
        ASSERT_TRUE(response["messages"].contains(name)) << name;
        EXPECT_EQ(response["messages"][name]["headers"]["properties"]["routemq-status"]["const"],
                  name);
    }
    EXPECT_EQ(v5["channels"]["devices.id.command"]["messages"]["message"]["bindings"]["$ref"],
              "#/components/messageBindings/request");
    EXPECT_TRUE(v5["components"]["messageBindings"]["request"]["mqtt"].contains("responseTopic"));
    EXPECT_EQ(v5["servers"]["broker"]["protocolVersion"], "5");

    auto v3 = document(r, {{"MQTT_PROTOCOL", "3.1.1"}});
    EXPECT_FALSE(v3["operations"]["asyncapi_test.handle"].contains("reply"));
    EXPECT_FALSE(v3["channels"].contains("response"));
    EXPECT_FALSE(v3["channels"]["devices.id.command"]["messages"]["message"].contains("bindings"));
    EXPECT_FALSE(v3.contains("components"));
    EXPECT_EQ(v3["servers"]["broker"]["protocolVersion"], "3.1.1");
}

TEST(AsyncApi, TheServerIsTheConfiguredBroker) {
    routemq::router r;
    r.on("x", &handle);
    auto plain = document(r, {{"MQTT_BROKER", "broker.example"}, {"MQTT_PORT", "1884"}});
    EXPECT_EQ(plain["servers"]["broker"]["host"], "broker.example:1884");
    EXPECT_EQ(plain["servers"]["broker"]["protocol"], "mqtt");
    EXPECT_EQ(plain["servers"]["broker"]["bindings"]["mqtt"]["keepAlive"], 60);
    auto tls = document(r, {{"MQTT_BROKER", "::1"}, {"MQTT_TLS", "true"}});
    EXPECT_EQ(tls["servers"]["broker"]["host"], "[::1]:1883");
    EXPECT_EQ(tls["servers"]["broker"]["protocol"], "secure-mqtt");
}

TEST(Yaml, WritesBlockCollections) {
    const auto doc = json::parse(R"({"b": 1, "a": {"list": [1, {"k": "v", "l": [true, null]},
        [2, 3]], "empty": {}, "none": []}, "f": 0.5})");
    EXPECT_EQ(routemq::detail::to_yaml(doc),
              "b: 1\n"
              "a:\n"
              "  list:\n"
              "    - 1\n"
              "    - k: v\n"
              "      l:\n"
              "        - true\n"
              "        - null\n"
              "    - - 2\n"
              "      - 3\n"
              "  empty: {}\n"
              "  none: []\n"
              "f: 0.5\n");
}

TEST(Yaml, QuotesEveryStringAReaderCouldTakeForSomethingElse) {
    using routemq::detail::yaml_string;
    for (const char* plain : {"sensors", "$ref", "x-share-group", "$share/g/a/+/b", "/abs",
                              "A message on x", "_", "sensors.device_id.data", "yesterday"}) {
        EXPECT_EQ(yaml_string(plain), plain);
    }
    const std::vector<std::pair<std::string, std::string>> quoted = {
        {"5", R"("5")"},
        {"3.1.1", R"("3.1.1")"},
        {"", R"("")"},
        {"true", R"("true")"},
        {"Yes", R"("Yes")"},
        {"off", R"("off")"},
        {"y", R"("y")"},
        {"NULL", R"("NULL")"},
        {"~", R"("~")"},
        {".inf", R"(".inf")"},
        {"2001-12-14", R"("2001-12-14")"},
        {"{device_id}", R"("{device_id}")"},
        {"#/channels/x", R"("#/channels/x")"},
        {"a: b", R"("a: b")"},
        {"a #b", R"("a #b")"},
        {"trailing ", R"("trailing ")"},
        {"- item", R"("- item")"},
        {"say \"hi\"\n\\", R"("say \"hi\"\n\\")"},
        {"del\x7f", R"("del\u007f")"},
        {"nel\xc2\x85", R"("nel\u0085")"},
        {"ls\xe2\x80\xa8", R"("ls\u2028")"},
        {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""},
        {"bad\xff", "\"bad\xef\xbf\xbd\""},
    };
    for (const auto& [text, expected] : quoted) {
        EXPECT_EQ(yaml_string(text), expected) << text;
    }
}

TEST(Yaml, AnOverlongKeyIsExplicit) {
    const std::string key(1100, 'k');
    json doc;
    doc[key] = "v";
    doc["nested"][key] = {1};
    EXPECT_EQ(routemq::detail::to_yaml(doc),
              "? " + key + "\n: v\nnested:\n  ? " + key + "\n  :\n    - 1\n");
}
