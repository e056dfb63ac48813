#include "deploy/k8s_manifests.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "asyncapi/yaml.hpp"
#include "pod/protocol.hpp"
#include "routemq/errors.hpp"
#include "settings_table.hpp"

namespace routemq::detail {
namespace {

using json = nlohmann::ordered_json;

/// The user and group the generated Dockerfile runs as (`routemq new app`).
constexpr int kRunAsUser = 10001;
/// The CPU a process is given as its request: what the HorizontalPodAutoscaler's utilization is
/// relative to. A starting point, not a measurement: handlers decide what a message costs.
constexpr int kMilliCpuPerProcess = 50;
/// Past SHUTDOWN_GRACE_SECONDS, the main client's disconnect and room to spare.
constexpr int kGraceMarginSeconds = 20;

/// `text` as a DNS-1123 label: lower case, every other character '-', no '-' at either end.
std::string dns_label(const std::string& text, const char* what) {
    std::string out;
    for (const char c : text) {
        const auto lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out += (std::isalnum(static_cast<unsigned char>(lower)) != 0) ? lower : '-';
    }
    const auto first = out.find_first_not_of('-');
    if (first == std::string::npos) {
        throw config_error(fmt::format(
            "{} '{}' has no letter or digit to name a Kubernetes object with", what, text));
    }
    return out.substr(first, out.find_last_not_of('-') - first + 1);
}

json labels(const std::string& app, const std::string& component) {
    json out = {{"app.kubernetes.io/name", app}};
    if (!component.empty()) {
        out["app.kubernetes.io/component"] = component;
    }
    return out;
}

json metadata(const std::string& name, const json& labels) {
    return {{"name", name}, {"labels", labels}};
}

json prometheus_annotations(int port) {
    return {{"prometheus.io/scrape", "true"},
            {"prometheus.io/port", std::to_string(port)},
            {"prometheus.io/path", "/metrics"}};
}

json http_probe(const char* path, int period, int failures) {
    return {{"httpGet", {{"path", path}, {"port", "http"}}},
            {"periodSeconds", period},
            {"timeoutSeconds", 2},
            {"failureThreshold", failures}};
}

/// The pools of the routes, in the order their first route was registered.
std::vector<std::string> pools_of(const router& r) {
    std::vector<std::string> out;
    for (const auto& route : r.routes()) {
        if (std::find(out.begin(), out.end(), route.options.pool) == out.end()) {
            out.push_back(route.options.pool);
        }
    }
    return out;
}

/// A secret of the settings table (MQTT_PASSWORD, DASHBOARD_TOKEN): its place is the Secret.
bool secret(std::string_view name) {
    const auto& table = settings_table();
    return std::any_of(table.begin(), table.end(),
                       [name](const setting_variable& v) { return v.name == name && v.secret; });
}

}  // namespace

pod_memory memory_for(std::size_t processes) {
    // The manager and its processes, rounded up to 16 MiB.
    const auto need = kMiBPerProcess * static_cast<double>(processes + 1);
    const int request = static_cast<int>(std::ceil(need / 16) * 16);
    return {.request_mib = request,
            .limit_mib = request + kBacklogMiBPerProcess * static_cast<int>(processes)};
}

std::string k8s_manifests(const router& r, const settings& s, const scaling_defaults& scaling,
                          const k8s_request& request) {
    if (r.routes().empty()) {
        throw config_error(
            "no routes: nothing to deploy (run deploy k8s from the application's "
            "own executable)");
    }
    // A name client ids can hold (as MQTT_CLIENT_ID), starting with a letter as Service names do.
    if (!is_plain_name(request.name) ||
        std::isalpha(static_cast<unsigned char>(request.name.front())) == 0) {
        throw config_error(fmt::format(
            "application name '{}' must start with a letter and hold at most 64 letters, digits, "
            "'-', '_' or '.'",
            request.name));
    }
    const auto app = dns_label(request.name, "the application name");
    const auto config_name = app + "-config";
    const auto secret_name = app + "-mqtt";
    const int http_port = s.http.port;
    const auto grace = static_cast<int>(s.workers.shutdown_grace.count());
    const bool loopback = s.mqtt.broker == "localhost" || s.mqtt.broker.rfind("127.", 0) == 0 ||
                          s.mqtt.broker == "::1";

    std::vector<json> objects;
    objects.push_back(
        {{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata", metadata(config_name, labels(app, ""))},
         {"data",
          {// A broker on this machine means none was configured: the name of its Service.
           {"MQTT_BROKER", loopback ? std::string("mqtt-broker") : s.mqtt.broker},
           {"MQTT_PORT", std::to_string(s.mqtt.port)},
           // The application's name unless set otherwise, as run_cli makes them.
           {"MQTT_CLIENT_ID", s.mqtt.client_id},
           // Every replica of every pool joins this group.
           {"MQTT_GROUP_NAME", s.mqtt.group_name},
           {"MQTT_PROTOCOL", s.mqtt.protocol == mqtt_protocol::v5 ? "5" : "3.1.1"},
           {"MQTT_SESSION_EXPIRY", std::to_string(s.mqtt.session_expiry.count())},
           {"MQTT_TLS", s.tls.enabled ? "true" : "false"},
           {"LOG_LEVEL", s.logging.level},
           {"LOG_FORMAT", "json"},
           {"WORKER_COUNT", std::to_string(s.workers.count)},
           {"SHUTDOWN_GRACE_SECONDS", std::to_string(grace)},
           {"HTTP_ENABLED", "true"},
           // The kubelet probes the pod's address.
           {"HTTP_HOST", "0.0.0.0"},
           {"HTTP_PORT", std::to_string(http_port)}}}});
    // What else was set, so that pods plan (AUTOSCALE_*, WORKER_COUNT) and behave (timeouts,
    // retries, recycling, topics) as the settings this was printed with.
    auto& data = objects.back()["data"];
    for (const auto& [variable, value] : request.explicit_settings) {
        const bool the_pods_own = variable == "INSTANCE_NAME" || variable == "WORKER_POOLS" ||
                                  variable == "HTTP_HOST" || variable == "HTTP_ENABLED" ||
                                  (variable == "MQTT_BROKER" && loopback);
        const bool credential = variable == "MQTT_USERNAME" || secret(variable);
        if (!the_pods_own && !credential && !data.contains(variable)) {
            data[variable] = value;
        }
    }
    objects.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Secret"},
         {"metadata", metadata(secret_name, labels(app, ""))},
         {"type", "Opaque"},
         {"stringData", {{"MQTT_USERNAME", ""}, {"MQTT_PASSWORD", ""}, {"DASHBOARD_TOKEN", ""}}}});

    std::set<std::string> names;
    for (const auto& pool : pools_of(r)) {
        const auto component = dns_label(pool, "pool");
        const auto name = app + "-" + component;
        if (!names.insert(name).second || name.size() > 63) {
            throw config_error(fmt::format(
                "pool '{}' would name its Kubernetes objects '{}', {}: rename the pool", pool, name,
                name.size() > 63 ? "longer than 63 characters" : "as another pool does"));
        }
        const auto plan = plan_pod(r, s.workers.count, {pool}, scaling);
        const bool shared = unshared_routes(r, {pool}).empty();
        const auto processes = plan.process_count();
        const auto memory = memory_for(processes);
        const auto pod_labels = labels(app, component);

        json container = {
            {"name", "app"},
            {"image", request.image},
            {"imagePullPolicy", "IfNotPresent"},
            {"args", {"--workers"}},
            {"envFrom",
             {{{"configMapRef", {{"name", config_name}}}},
              {{"secretRef", {{"name", secret_name}}}}}},
            {"env",
             {// The pod's name in its client ids: unique per pod, kept by a restart in place.
              {{"name", "INSTANCE_NAME"},
               {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
              {{"name", "WORKER_POOLS"}, {"value", pool}}}},
            {"ports", {{{"name", "http"}, {"containerPort", http_port}, {"protocol", "TCP"}}}},
            {"livenessProbe", http_probe("/healthz", 10, 3)},
            {"readinessProbe", http_probe("/readyz", 5, 2)},
            {"resources",
             {{"requests",
               {{"cpu", fmt::format("{}m", kMilliCpuPerProcess * (processes + 1))},
                {"memory", fmt::format("{}Mi", memory.request_mib)}}},
              {"limits", {{"memory", fmt::format("{}Mi", memory.limit_mib)}}}}},
            {"securityContext",
             {{"allowPrivilegeEscalation", false},
              {"readOnlyRootFilesystem", true},
              {"capabilities", {{"drop", {"ALL"}}}}}}};
        json pod_metadata = {{"labels", pod_labels},
                             {"annotations", prometheus_annotations(http_port)}};
        objects.push_back(
            {{"apiVersion", "apps/v1"},
             {"kind", "Deployment"},
             {"metadata", metadata(name, pod_labels)},
             {"spec",
              {{"replicas", shared ? 2 : 1},
               {"revisionHistoryLimit", 5},
               {"selector", {{"matchLabels", pod_labels}}},
               // Shared: a new pod joins the group before an old one leaves. Not shared: two
               // pods would both handle each message, so the old one goes first.
               {"strategy", shared
                                ? json{{"type", "RollingUpdate"},
                                       {"rollingUpdate", {{"maxSurge", 1}, {"maxUnavailable", 0}}}}
                                : json{{"type", "Recreate"}}},
               {"template",
                {{"metadata", pod_metadata},
                 {"spec",
                  {{"terminationGracePeriodSeconds", grace + kGraceMarginSeconds},
                   {"automountServiceAccountToken", false},
                   {"securityContext",
                    {{"runAsNonRoot", true},
                     {"runAsUser", kRunAsUser},
                     {"runAsGroup", kRunAsUser},
                     {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
                   {"containers", {container}}}}}}}}});
        json service_metadata = metadata(name, pod_labels);
        service_metadata["annotations"] = prometheus_annotations(http_port);
        objects.push_back({{"apiVersion", "v1"},
                           {"kind", "Service"},
                           {"metadata", service_metadata},
                           {"spec",
                            {{"type", "ClusterIP"},
                             {"selector", pod_labels},
                             {"ports",
                              {{{"name", "http"},
                                {"port", http_port},
                                {"targetPort", "http"},
                                {"protocol", "TCP"}}}}}}});
        objects.push_back(
            {{"apiVersion", "policy/v1"},
             {"kind", "PodDisruptionBudget"},
             {"metadata", metadata(name, pod_labels)},
             {"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", pod_labels}}}}}});
        if (shared) {
            objects.push_back(
                {{"apiVersion", "autoscaling/v2"},
                 {"kind", "HorizontalPodAutoscaler"},
                 {"metadata", metadata(name, pod_labels)},
                 {"spec",
                  {{"scaleTargetRef",
                    {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", name}}},
                   // Never fewer than 2: a drain or a restart of the only pod would leave the
                   // share group empty, and the broker drops what is published meanwhile.
                   {"minReplicas", 2},
                   {"maxReplicas", 10},
                   {"metrics",
                    {{{"type", "Resource"},
                      {"resource",
                       {{"name", "cpu"},
                        {"target", {{"type", "Utilization"}, {"averageUtilization", 70}}}}}}}},
                   {"behavior", {{"scaleDown", {{"stabilizationWindowSeconds", 300}}}}}}}});
        }
    }

    std::string out = fmt::format(
        "# Generated by `{0} deploy k8s` for {0}'s route table (kubectl apply -f): one Deployment\n"
        "# per pool, its memory request from its plan ({1} MiB for each process and the manager).\n"
        "# Set MQTT_BROKER in the ConfigMap and the credentials in the Secret.\n",
        request.name, kMiBPerProcess);
    for (const auto& object : objects) {
        out += "---\n" + to_yaml(object);
    }
    return out;
}

}  // namespace routemq::detail
