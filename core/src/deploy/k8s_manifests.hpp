#pragma once

#include <string>

#include "pod/pod_plan.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// Resident memory of one RouteMQ process, measured (docs/benchmarks/results.md: "Resident memory
/// per worker", framework 10.4 MiB with shared library pages) and rounded up. The offline manifest
/// check (tests/deploy/validate-manifests.mjs) holds every memory request to that figure.
inline constexpr double kMiBPerProcess = 12;
/// What a worker's queue grew to under overload at QoS 1 (docs/benchmarks): the room each
/// process gets between a pod's memory request and its limit.
inline constexpr int kBacklogMiBPerProcess = 64;

/// What `routemq deploy k8s` is asked for.
struct k8s_request {
    /// The application's name: the prefix of every object's name and its app.kubernetes.io/name
    /// label, lower-cased with every character but letters and digits made '-'. Starts with a
    /// letter; at most 64 letters, digits, '-', '_' or '.'.
    std::string name;
    std::string image;
    /// The settings given explicitly (in .env or the environment): each goes into the ConfigMap
    /// as it is, but for what is the pod's own (INSTANCE_NAME, WORKER_POOLS, HTTP_HOST, a
    /// broker on this machine) and credentials (the Secret is written empty).
    env_map explicit_settings = {};
};

/// The memory request and limit (MiB) of a pod whose plan has `processes` worker processes.
struct pod_memory {
    int request_mib = 0;
    int limit_mib = 0;
};
pod_memory memory_for(std::size_t processes);

/// Kubernetes manifests for this route table, as one multi-document YAML: a ConfigMap (the
/// settings a pod needs, with HTTP on every address, and those set explicitly, so that pods plan
/// and behave as `s` does) and a Secret (MQTT credentials, empty) for the application; for each
/// pool, a Deployment running `--workers` with WORKER_POOLS set to it, sized from that pool's plan
/// (memory_for, a CPU request per process), its probes and grace period from the settings, a
/// Service and a PodDisruptionBudget; and a HorizontalPodAutoscaler from 2 replicas when every
/// route of the pool is shared, exactly one replica and no autoscaler otherwise (each replica would
/// handle every message of a non-shared route). Throws config_error for no routes, or a name or
/// pool Kubernetes cannot take.
std::string k8s_manifests(const router& r, const settings& s, const scaling_defaults& scaling,
                          const k8s_request& request);

}  // namespace routemq::detail
