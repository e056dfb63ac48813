// Validates every manifest in k8s/ without a cluster (make test):
//   1. YAML syntax (duplicate keys are errors);
//   2. each kustomization's resources exist, and every manifest belongs to one; what render()
//      makes of each agrees with `kubectl kustomize` where a kubectl with kustomize v5 is found;
//   3. each object against the Kubernetes schema (kubernetes-models: types, required fields);
//   4. no unknown field anywhere (TypeScript's excess-property check against the same models'
//      types: a typo such as `replica:` or `livenessprobe:` would otherwise be ignored by the
//      API server, silently);
//   5. what the schema cannot know: probes, ports, grace period, settings and the image agree
//      with the code, the Dockerfile, the settings table and the measured memory; each pod's
//      plan (`routemq routes` under its settings, WORKER_POOLS included) sizes it; selectors
//      keep workloads apart; every route is served by one workload, and a pool's replicas and
//      HPA suit its routes (shared or not).
// Usage: node validate-manifests.mjs <routemq executable>
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import ts from "typescript";
import { parse, parseAllDocuments } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const k8s = path.join(root, "k8s");
const routemq = process.argv[2];
const failures = [];

function fail(message) {
  failures.push(message);
  console.error(`FAIL: ${message}`);
}

function check(what, fn) {
  try {
    fn();
    console.log(`ok: ${what}`);
  } catch (e) {
    fail(`${what}: ${e.message}`);
  }
}

const rel = (file) => path.relative(root, file);

// ---- 1. every YAML document under k8s/ ----------------------------------------------------

function yamlFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

const docsByFile = new Map();
for (const file of yamlFiles(k8s)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true, prettyErrors: true });
  const objects = [];
  for (const doc of docs) {
    for (const problem of [...doc.errors, ...doc.warnings]) fail(`${rel(file)}: ${problem.message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  }
  docsByFile.set(file, objects);
}
console.log(`ok: ${docsByFile.size} YAML files parse`);

// ---- 2. kustomizations ---------------------------------------------------------------------

const isKustomization = (file) => path.basename(file) === "kustomization.yaml";
// namespace and commonAnnotations are accepted but not applied.
const kustomizationKeys = new Set([
  "apiVersion", "kind", "resources", "nameSuffix", "labels", "patches", "images", "namespace", "commonAnnotations",
]);
const reached = new Set();

/** JSON Patch (RFC 6902) operations add, replace and remove on obj, in place. */
function jsonPatch(obj, ops, what) {
  for (const { op, path: pointer, value } of ops) {
    assert.ok(["add", "replace", "remove"].includes(op), `${what}: op ${op} (add, replace or remove)`);
    const keys = pointer.split("/").slice(1).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop();
    let parent = obj;
    for (const key of keys) {
      parent = parent?.[key];
      assert.ok(typeof parent === "object" && parent !== null, `${what}: no ${pointer}`);
    }
    if (Array.isArray(parent)) {
      const i = last === "-" && op === "add" ? parent.length : Number(last);
      assert.ok(Number.isInteger(i) && i <= parent.length - (op === "add" ? 0 : 1), `${what}: no ${pointer}`);
      parent.splice(i, op === "add" ? 0 : 1, ...(op === "remove" ? [] : [structuredClone(value)]));
    } else {
      assert.ok(op === "add" || last in parent, `${what}: no ${pointer}`);
      if (op === "remove") delete parent[last];
      else parent[last] = structuredClone(value);
    }
  }
}

/** The names an object refers to, as [holder, key, kind] (the fields kustomize renames). */
function references(obj) {
  const refs = [];
  const pod = obj.spec?.template?.spec;
  for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef) refs.push([e.configMapRef, "name", "ConfigMap"]);
      if (e.secretRef) refs.push([e.secretRef, "name", "Secret"]);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef) refs.push([e.valueFrom.configMapKeyRef, "name", "ConfigMap"]);
      if (e.valueFrom?.secretKeyRef) refs.push([e.valueFrom.secretKeyRef, "name", "Secret"]);
    }
  }
  for (const v of pod?.volumes ?? []) {
    if (v.configMap) refs.push([v.configMap, "name", "ConfigMap"]);
    if (v.secret) refs.push([v.secret, "secretName", "Secret"]);
  }
  if (obj.kind === "StatefulSet") refs.push([obj.spec, "serviceName", "Service"]);
  if (obj.kind === "HorizontalPodAutoscaler") refs.push([obj.spec.scaleTargetRef, "name", obj.spec.scaleTargetRef.kind]);
  return refs;
}

/** Where `labels` with includeSelectors puts its pairs besides metadata.labels. */
function selectorsAndTemplates(obj) {
  switch (obj.kind) {
    case "Deployment":
    case "StatefulSet":
      return [(obj.spec.selector.matchLabels ??= {}), (obj.spec.template.metadata.labels ??= {})];
    case "Service":
      return [(obj.spec.selector ??= {})];
    case "PodDisruptionBudget":
      return [(obj.spec.selector.matchLabels ??= {})];
    default:
      return [];
  }
}

/**
 * The objects a kustomization directory renders: its resources, then (in kustomize's order)
 * patches (JSON 6902 with a target of kind and name, or a `$patch: delete`), nameSuffix (and the
 * references to the renamed objects), labels and images (`kustomize edit set image` writes them).
 */
function render(dir, seen = []) {
  const file = path.join(dir, "kustomization.yaml");
  assert.ok(existsSync(file), `${rel(dir)} has no kustomization.yaml`);
  assert.ok(!seen.includes(dir), `kustomization cycle through ${rel(dir)}`);
  const [k] = docsByFile.get(file);
  assert.equal(k.apiVersion, "kustomize.config.k8s.io/v1beta1", `${rel(file)} apiVersion`);
  assert.equal(k.kind, "Kustomization", `${rel(file)} kind`);
  for (const key of Object.keys(k)) assert.ok(kustomizationKeys.has(key), `${rel(file)}: unexpected key ${key}`);
  let out = [];
  for (const resource of k.resources ?? []) {
    const target = path.resolve(dir, resource);
    assert.ok(existsSync(target), `${rel(file)}: resource ${resource} does not exist`);
    if (statSync(target).isDirectory()) {
      out.push(...render(target, [...seen, dir]));
    } else {
      // kustomize loads files only from the kustomization's directory and below.
      assert.ok(!path.relative(dir, target).startsWith(".."), `${rel(file)}: ${resource} is outside its directory`);
      reached.add(target);
      out.push(...docsByFile.get(target).map((obj) => ({ obj: structuredClone(obj), file: target })));
    }
  }
  const objects = () => out.map(({ obj }) => obj);
  for (const { patch, target, ...rest } of k.patches ?? []) {
    assert.deepEqual(Object.keys(rest), [], `${rel(file)}: patches take patch and target`);
    const ops = parse(patch, { uniqueKeys: true });
    if (Array.isArray(ops)) {
      assert.deepEqual(Object.keys(target ?? {}).sort(), ["kind", "name"], `${rel(file)}: a JSON patch's target is kind and name`);
      const matched = objects().filter((o) => o.kind === target.kind && o.metadata.name === target.name);
      assert.equal(matched.length, 1, `${rel(file)}: patch target ${target.kind}/${target.name}`);
      jsonPatch(matched[0], ops, `${rel(file)} patch of ${target.kind}/${target.name}`);
    } else {
      assert.equal(ops?.$patch, "delete", `${rel(file)}: a patch is a JSON patch or a $patch: delete`);
      assert.equal(target, undefined, `${rel(file)}: a $patch: delete names its object itself`);
      const before = out.length;
      out = out.filter(({ obj }) => !(obj.kind === ops.kind && obj.metadata.name === ops.metadata?.name));
      assert.equal(out.length, before - 1, `${rel(file)}: $patch: delete of ${ops.kind}/${ops.metadata?.name}`);
    }
  }
  if (k.nameSuffix) {
    const renamed = new Set(objects().map((o) => `${o.kind}/${o.metadata.name}`));
    for (const o of objects()) {
      o.metadata.name += k.nameSuffix;
      for (const [holder, key, kind] of references(o)) {
        if (renamed.has(`${kind}/${holder[key]}`)) holder[key] += k.nameSuffix;
      }
    }
  }
  for (const { pairs, includeSelectors, ...rest } of k.labels ?? []) {
    assert.deepEqual(Object.keys(rest), [], `${rel(file)}: labels take pairs and includeSelectors`);
    for (const o of objects()) {
      const targets = [(o.metadata.labels ??= {}), ...(includeSelectors ? selectorsAndTemplates(o) : [])];
      for (const labels of targets) Object.assign(labels, pairs);
    }
  }
  for (const { name, newName, newTag, ...rest } of k.images ?? []) {
    assert.deepEqual(Object.keys(rest), [], `${rel(file)}: images take name, newName and newTag`);
    for (const o of objects()) {
      const pod = o.spec?.template?.spec;
      for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
        const [, image, tag] = /^(.*?)(?::([^:/]+))?$/.exec(c.image);
        if (image === name) c.image = `${newName ?? image}${newTag ?? tag ? `:${newTag ?? tag}` : ""}`;
      }
    }
  }
  const names = out.map(({ obj }) => `${obj.kind}/${obj.metadata?.name}`);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  assert.deepEqual(repeated, [], `${rel(dir)} renders an object twice`);
  return out;
}

const variants = {};
for (const dir of [k8s, path.join(k8s, "statefulset"), path.join(k8s, "pools")]) {
  check(`kustomization ${rel(dir)}/ renders`, () => {
    variants[rel(dir)] = render(dir);
  });
}
let devBroker = [];
check("kustomization k8s/dev-broker/ renders", () => {
  devBroker = render(path.join(k8s, "dev-broker"));
});
check("every manifest belongs to a kustomization", () => {
  const orphans = [...docsByFile.keys()].filter((f) => !isKustomization(f) && !reached.has(f));
  assert.deepEqual(orphans.map(rel), []);
});

// render() against the real kustomize, where there is one (kustomize v5, as in kubectl 1.27 and
// later; older ones lack `labels`).
{
  let kustomize = null;
  try {
    const v = execFileSync("kubectl", ["version", "--client"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    if (Number(/Kustomize Version: v(\d+)/.exec(v)?.[1]) >= 5) kustomize = /Kustomize Version: (\S+)/.exec(v)[1];
  } catch {
    // no kubectl
  }
  const rendered = { ...variants, "k8s/dev-broker": devBroker };
  if (kustomize === null) {
    console.log("skip: render() against kubectl kustomize (no kubectl with kustomize v5 found)");
  } else {
    for (const [name, objects] of Object.entries(rendered)) {
      check(`${name}/: render() agrees with kubectl kustomize (${kustomize})`, () => {
        const real = parseAllDocuments(execFileSync("kubectl", ["kustomize", path.join(root, name)], { encoding: "utf8" }))
          .map((d) => d.toJS());
        const byName = (list) => Object.fromEntries(list.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
        assert.deepEqual(byName(objects.map(({ obj }) => obj)), byName(real));
      });
    }
  }
}

// Every object as written, and every object as a kustomization renders it where that differs
// (patched, renamed, labelled): sections 3 and 4 check both.
const sources = [...docsByFile.entries()]
  .filter(([file]) => !isKustomization(file))
  .flatMap(([file, objects]) => objects.map((obj) => ({ obj, file, by: null })));
const seenJson = new Set(sources.map(({ obj }) => JSON.stringify(obj)));
const manifests = [...sources];
for (const [name, objects] of Object.entries(variants)) {
  for (const { obj, file } of objects) {
    const json = JSON.stringify(obj);
    if (!seenJson.has(json)) manifests.push({ obj, file, by: name });
    seenJson.add(json);
  }
}
const where = ({ obj, file, by }) => `${rel(file)}${by ? ` (as ${by}/ renders it)` : ""} ${obj.kind}/${obj.metadata?.name}`;

// ---- 3. schema -------------------------------------------------------------------------------

function modelPath({ apiVersion, kind }) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

for (const m of manifests) {
  const { obj } = m;
  const what = `${where(m)} matches the ${obj.apiVersion} schema`;
  try {
    const module = await import(modelPath(obj));
    new module[obj.kind](obj).validate();
    console.log(`ok: ${what}`);
  } catch (e) {
    fail(`${what}: ${e.message}`);
  }
}

// ---- 4. unknown fields -----------------------------------------------------------------------

{
  const dir = mkdtempSync(path.join(here, ".typecheck-"));
  try {
    const lines = [];
    const owners = [];  // line -> manifest
    manifests.forEach(({ obj, file }, i) => {
      lines.push(`import type { I${obj.kind} as T${i} } from "${modelPath(obj)}";`);
      owners.push(null);
    });
    manifests.forEach((m, i) => {
      const body = JSON.stringify(m.obj, null, 1).split("\n");
      body[0] = `export const m${i}: T${i} = ${body[0]}`;
      for (const line of body) {
        lines.push(line);
        owners.push(m);
      }
      body.length && (lines[lines.length - 1] += ";");
    });
    const source = path.join(dir, "manifests.ts");
    writeFileSync(source, lines.join("\n"));
    const program = ts.createProgram([source], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    for (const d of diagnostics) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
      if (d.file && d.start !== undefined) {
        const { line } = d.file.getLineAndCharacterOfPosition(d.start);
        const owner = owners[line];
        fail(`${owner ? where(owner) : "import"}: ${lines[line].trim()}: ${message}`);
      } else {
        fail(message);
      }
    }
    if (diagnostics.length === 0) console.log(`ok: no unknown or mistyped field in ${manifests.length} objects`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 5. agreement with the code --------------------------------------------------------------

const envExample = readFileSync(path.join(root, ".env.example"), "utf8");
const settingNames = new Set([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
const [, dockerUid, dockerGid] = (/^USER (\d+):(\d+)$/m.exec(dockerfile) ?? []).map(Number);
const results = readFileSync(path.join(root, "docs/benchmarks/results.md"), "utf8");
const measuredMiB = Number(/Resident memory per worker[^:]*: framework ([\d.]+) MiB/.exec(results)?.[1]);
const version = execFileSync(routemq, ["--version"], { encoding: "utf8" }).trim();

// What a pod would run: `routemq routes` under the pod's settings (its ConfigMap and the
// container's literal env, WORKER_POOLS included) and none of this shell's. It fails as the pod
// would (exit 2) on an unknown pool or an invalid setting.
const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !settingNames.has(k)));
function planFor(settings) {
  let text;
  try {
    text = execFileSync(routemq, ["--env-file", "/dev/null", "routes"], {
      encoding: "utf8",
      env: { ...shellEnv, ...settings },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    throw new Error(`routemq routes: ${e.stderr?.trim() || e.message}`);
  }
  const [header, ...rows] = text.split("\n\n")[0].split("\n").filter(Boolean).map((line) => line.split(/\s+/));
  const poolColumn = header.indexOf("POOL");
  assert.ok(poolColumn > 0, "routemq routes prints a POOL column");
  return {
    routes: rows.map((row) => row[0]),
    pools: [...new Set(rows.map((row) => row[poolColumn]))],
    processes: Number(/^WORKERS \((\d+) process(?:es)? with --workers/m.exec(text)?.[1]),
    notShared: /\(not shared\)$/m.test(text),
  };
}
const application = planFor({});

const mebibytes = (q) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q ?? "");
  assert.ok(m, `memory quantity ${q} (use Mi or Gi)`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
};
const selects = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v) && Object.keys(selector ?? {}).length > 0;
const selectorOf = (o) => (o.kind === "Service" ? o.spec.selector : o.spec.selector.matchLabels);

// k8s/ and k8s/statefulset/: one workload serving every route. k8s/pools/: one Deployment per pool
// of the application.
const expectedWorkloads = { k8s: 1, "k8s/statefulset": 1, "k8s/pools": application.pools.length };

for (const [name, objects] of Object.entries(variants)) {
  const byKind = (kind) => objects.map(({ obj }) => obj).filter((o) => o.kind === kind);
  const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
  const served = [];  // the routes of each workload's plan
  const poolsServed = [];  // each workload's WORKER_POOLS
  check(`${name}: ${expectedWorkloads[name]} workload(s)`, () => assert.equal(workloads.length, expectedWorkloads[name]));
  check(`${name}: each selector (workload, Service, PodDisruptionBudget) covers one workload's pods, each HPA targets one`, () => {
    for (const o of [...workloads, ...byKind("Service"), ...byKind("PodDisruptionBudget")]) {
      const covered = workloads.filter((w) => selects(selectorOf(o), w.spec.template.metadata.labels)).map((w) => w.metadata.name);
      assert.ok(covered.length === 1 && (!workloads.includes(o) || covered[0] === o.metadata.name),
        `${o.kind}/${o.metadata.name} covers ${covered.join(", ") || "no workload"}`);
    }
    for (const h of byKind("HorizontalPodAutoscaler")) {
      const { kind, name: target } = h.spec.scaleTargetRef;
      assert.ok(workloads.some((w) => w.kind === kind && w.metadata.name === target), `HPA ${h.metadata.name} targets ${kind}/${target}`);
    }
  });

  for (const w of workloads) {
    const what = workloads.length > 1 ? `${name} ${w.kind}/${w.metadata.name}` : name;
    const pod = w.spec.template;
    const [c] = pod.spec.containers;
    const reads = (kind) => (o) => c.envFrom.some((e) => (kind === "ConfigMap" ? e.configMapRef : e.secretRef)?.name === o.metadata.name);
    const configMap = byKind("ConfigMap").find(reads("ConfigMap"));
    const secret = byKind("Secret").find(reads("Secret")) ?? {};
    const config = configMap?.data ?? {};
    const literalEnv = Object.fromEntries((c.env ?? []).filter((e) => "value" in e).map((e) => [e.name, e.value]));
    const pools = literalEnv.WORKER_POOLS ?? config.WORKER_POOLS;
    poolsServed.push(pools || "(all)");
    const httpPort = Number(config.HTTP_PORT ?? 8080);
    const hpas = byKind("HorizontalPodAutoscaler").filter(
      (h) => h.spec.scaleTargetRef.kind === w.kind && h.spec.scaleTargetRef.name === w.metadata.name);

    check(`${what}: ConfigMap, Secret and env hold known settings, credentials only in the Secret`, () => {
      const names = [...Object.keys(config), ...Object.keys(secret.stringData ?? secret.data ?? {}), ...(c.env ?? []).map((e) => e.name)];
      assert.deepEqual(names.filter((k) => !settingNames.has(k)), [], "not in .env.example (the settings table)");
      assert.ok(!("MQTT_PASSWORD" in config) && !("MQTT_USERNAME" in config));
      assert.ok("MQTT_PASSWORD" in (secret.stringData ?? secret.data ?? {}));
    });
    check(`${what}: the container reads them`, () => {
      const refs = c.envFrom.map((e) => e.configMapRef?.name ?? e.secretRef?.name);
      assert.deepEqual(refs.sort(), [configMap?.metadata.name, secret.metadata?.name].sort());
    });
    let plan = null;
    check(`${what}: routemq routes under its settings (pools: ${pools || "all"}) plans routes and workers`, () => {
      plan = planFor({ ...config, ...literalEnv });
      assert.ok(plan.routes.length > 0 && plan.processes > 0, "an instance that serves nothing");
      served.push(...plan.routes);
    });
    check(`${what}: ${w.kind} runs routemq --workers, image version ${version}`, () => {
      assert.deepEqual(c.args, ["--workers"]);
      assert.equal(c.command, undefined, "the image's ENTRYPOINT runs routemq");
      assert.match(c.image, new RegExp(`(^|/)routemq:${version.replaceAll(".", "\\.")}$`));
    });
    if (!pools) {
      // Every route in every replica (non-shared ones included: docs/deployment.md, Scaling).
      check(`${what}: 3 replicas, within its HPA's range`, () => {
        assert.equal(w.spec.replicas, 3);
        assert.equal(hpas.length, 1);
        assert.ok(hpas[0].spec.minReplicas <= w.spec.replicas && w.spec.replicas <= hpas[0].spec.maxReplicas);
      });
    } else if (plan?.notShared) {
      check(`${what}: serves non-shared routes, so exactly one replica and no HPA`, () => {
        assert.equal(w.spec.replicas, 1, "each replica would handle every message of a non-shared route");
        assert.deepEqual(hpas.map((h) => h.metadata.name), []);
      });
    } else if (plan) {
      check(`${what}: shared routes only, scaled by an HPA from at least 2 replicas`, () => {
        assert.equal(hpas.length, 1);
        const [{ spec }] = hpas;
        // With one replica, a drain or a restart leaves the share group empty and the broker drops
        // what is published meanwhile.
        assert.ok(spec.minReplicas >= 2, `minReplicas ${spec.minReplicas}`);
        assert.ok(spec.minReplicas <= w.spec.replicas && w.spec.replicas <= spec.maxReplicas);
      });
    }
    check(`${what}: the pod name is the instance name in client ids`, () => {
      const env = c.env.find((e) => e.name === "INSTANCE_NAME");
      assert.equal(env?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
    });
    check(`${what}: terminationGracePeriodSeconds leaves room after SHUTDOWN_GRACE_SECONDS`, () => {
      // Workers get SHUTDOWN_GRACE_SECONDS, then the main client takes up to 2 s to disconnect.
      assert.ok(pod.spec.terminationGracePeriodSeconds >= Number(config.SHUTDOWN_GRACE_SECONDS) + 5,
        `${pod.spec.terminationGracePeriodSeconds} s vs SHUTDOWN_GRACE_SECONDS ${config.SHUTDOWN_GRACE_SECONDS}`);
    });
    check(`${what}: probes hit /healthz and /readyz on HTTP_PORT ${httpPort}`, () => {
      const http = c.ports.find((p) => p.name === "http");
      assert.equal(http?.containerPort, httpPort);
      assert.equal(config.HTTP_HOST, "0.0.0.0", "the kubelet probes the pod IP");
      assert.equal(c.livenessProbe.httpGet.path, "/healthz");
      assert.equal(c.readinessProbe.httpGet.path, "/readyz");
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        assert.ok(probe.httpGet.port === "http" || probe.httpGet.port === httpPort);
      }
    });
    check(`${what}: a Service and one PodDisruptionBudget select its pods`, () => {
      const labels = pod.metadata.labels;
      assert.ok(selects(w.spec.selector.matchLabels, labels));
      assert.ok(byKind("Service").some((s) => s.spec.clusterIP !== "None" && selects(s.spec.selector, labels)));
      assert.equal(byKind("PodDisruptionBudget").filter((p) => selects(p.spec.selector.matchLabels, labels)).length, 1);
    });
    check(`${what}: Prometheus annotations point at /metrics on HTTP_PORT`, () => {
      const services = byKind("Service").filter((s) => s.spec.clusterIP !== "None" && selects(s.spec.selector, pod.metadata.labels));
      for (const annotations of [pod.metadata.annotations, ...services.map((s) => s.metadata.annotations)]) {
        assert.equal(annotations?.["prometheus.io/scrape"], "true");
        assert.equal(Number(annotations?.["prometheus.io/port"]), httpPort);
        assert.equal(annotations?.["prometheus.io/path"], "/metrics");
      }
    });
    check(`${what}: memory request covers the measured ${measuredMiB} MiB per process x (the manager + ${plan?.processes} of its plan)`, () => {
      assert.ok(measuredMiB > 0 && plan?.processes > 0, "figures found in docs/benchmarks/results.md and routemq routes");
      const need = measuredMiB * (1 + plan.processes);
      assert.ok(mebibytes(c.resources.requests.memory) >= need, `request ${c.resources.requests.memory} < ${need} MiB`);
      assert.ok(mebibytes(c.resources.limits.memory) >= 2 * mebibytes(c.resources.requests.memory), "limit leaves room for backlogs");
      assert.ok(c.resources.requests.cpu, "a CPU request (the HPA's utilization is relative to it)");
    });
    check(`${what}: runs as the Dockerfile's non-root user ${dockerUid}:${dockerGid}`, () => {
      assert.equal(pod.spec.securityContext.runAsNonRoot, true);
      assert.equal(pod.spec.securityContext.runAsUser, dockerUid);
      assert.equal(pod.spec.securityContext.runAsGroup, dockerGid);
    });
    if (w.kind === "StatefulSet") {
      check(`${what}: the StatefulSet's serviceName is a headless Service`, () => {
        const headless = byKind("Service").find((s) => s.metadata.name === w.spec.serviceName);
        assert.equal(headless?.spec.clusterIP, "None");
      });
    }
  }
  check(`${name}: every route of the application is served by exactly one of its workloads`, () => {
    assert.deepEqual(served.sort(), [...application.routes].sort());
  });
  if (name === "k8s/pools") {
    check(`${name}: one Deployment per pool of the application (${application.pools.join(", ")})`, () => {
      assert.deepEqual(poolsServed.sort(), [...application.pools].sort());
      assert.deepEqual(workloads.map((w) => w.kind), workloads.map(() => "Deployment"));
    });
  }
}

check("the dev broker's Service is the ConfigMap's MQTT_BROKER:MQTT_PORT", () => {
  const config = variants.k8s.map(({ obj }) => obj).find((o) => o.kind === "ConfigMap").data;
  const service = devBroker.map(({ obj }) => obj).find((o) => o.kind === "Service");
  assert.equal(service.metadata.name, config.MQTT_BROKER);
  assert.equal(service.spec.ports[0].port, Number(config.MQTT_PORT));
});

check("the Deployment and StatefulSet variants run the same pod (but for an image set in one of them)", () => {
  const templates = [variants.k8s, variants["k8s/statefulset"]].map((objects) =>
    structuredClone(objects.map(({ obj }) => obj).find((o) => o.kind === "Deployment" || o.kind === "StatefulSet")?.spec.template));
  for (const t of templates) for (const c of t.spec.containers) delete c.image;
  assert.deepEqual(templates[0], templates[1]);
});

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
