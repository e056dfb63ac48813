// `routemq deploy k8s` (core/src/deploy): the sizing and the naming. The manifests it prints
// for the example are checked against the Kubernetes schemas and the plan by
// tests/deploy/validate-manifests.mjs (Deploy.GeneratedManifests).
#include "deploy/k8s_manifests.hpp"

#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <routemq/settings.hpp>
#include <string>

namespace {

void noop(routemq::context&) {}

routemq::settings defaults() {
    return routemq::load_settings({}, {});
}

int count(const std::string& text, const std::string& part) {
    int n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST(K8sManifests, MemoryCoversTheManagerAndEveryProcessWithRoomForABacklog) {
    using routemq::detail::memory_for;
    EXPECT_EQ(memory_for(0).request_mib, 16);
    EXPECT_EQ(memory_for(3).request_mib, 48);  // 4 x 12 MiB
    EXPECT_EQ(memory_for(3).limit_mib, 48 + 3 * 64);
    EXPECT_EQ(memory_for(10).request_mib, 144);  // 11 x 12 = 132, rounded up to 16
}

TEST(K8sManifests, ASharedPoolScalesFromTwoReplicasANonSharedOneRunsOne) {
    routemq::router r;
    r.on("jobs/{id}", &noop, {.qos = 1, .shared = true, .worker_count = 3, .pool = "fast_lane"});
    r.on("alerts/{id}", &noop, {.qos = 1});
    const routemq::env_map given = {{"MQTT_CLIENT_ID", "door_bell"},
                                    {"HANDLER_TIMEOUT_SECONDS", "7"},
                                    {"MQTT_USERNAME", "me"},
                                    {"MQTT_PASSWORD", "hunter2"},
                                    {"INSTANCE_NAME", "laptop"}};
    const auto yaml = routemq::detail::k8s_manifests(
        r, routemq::load_settings(given, {}), {},
        {.name = "door_bell", .image = "db:1", .explicit_settings = given});
    EXPECT_EQ(count(yaml, "\nkind: Deployment\n"), 2);
    EXPECT_EQ(count(yaml, "\nkind: HorizontalPodAutoscaler\n"), 1);
    EXPECT_EQ(count(yaml, "name: door-bell-fast-lane\n"), 5)
        << yaml;  // the workload, its Service, PDB and HPA, and the HPA's target
    EXPECT_NE(yaml.find("  replicas: 2\n"), std::string::npos);
    EXPECT_NE(yaml.find("  replicas: 1\n"), std::string::npos);
    EXPECT_NE(yaml.find("type: Recreate"), std::string::npos)
        << "never two copies of a non-shared route";
    EXPECT_NE(yaml.find("memory: \"48Mi\""), std::string::npos) << "the manager and 3 workers";
    EXPECT_NE(yaml.find("value: fast_lane\n"), std::string::npos) << "WORKER_POOLS is the pool";
    EXPECT_NE(yaml.find("MQTT_CLIENT_ID: door_bell\n"), std::string::npos);
    EXPECT_NE(yaml.find("terminationGracePeriodSeconds: 30\n"), std::string::npos);
    EXPECT_NE(yaml.find("HANDLER_TIMEOUT_SECONDS: \"7\"\n"), std::string::npos)
        << "what was set reaches the pods";
    EXPECT_EQ(yaml.find("hunter2"), std::string::npos) << "never a credential";
    EXPECT_EQ(yaml.find("MQTT_USERNAME: me"), std::string::npos) << "never a credential";
    EXPECT_EQ(yaml.find("laptop"), std::string::npos) << "nor this machine's instance name";
}

TEST(K8sManifests, PoolsThatWouldShareANameAreRefused) {
    routemq::router r;
    r.on("a/{id}", &noop, {.shared = true, .pool = "bulk_mail"});
    r.on("b/{id}", &noop, {.shared = true, .pool = "bulk-mail"});
    try {
        routemq::detail::k8s_manifests(r, defaults(), {}, {.name = "app", .image = "app:1"});
        FAIL() << "two pools named one Deployment";
    } catch (const routemq::config_error& e) {
        EXPECT_NE(std::string(e.what()).find("pool 'bulk-mail' would name its Kubernetes objects "
                                             "'app-bulk-mail', as another pool does"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(routemq::detail::k8s_manifests(r, defaults(), {}, {.name = "__", .image = "x"}),
                 routemq::config_error);
}
