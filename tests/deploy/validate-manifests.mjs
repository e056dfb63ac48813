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
//      HPA suit its routes (shared or not);
//   6. the examples in k8s/examples/ (applied by hand, in no kustomization): each object goes
//      through 3 and 4 (a KEDA ScaledObject against the schema of @kubernetes-models/keda); each
//      autoscaler targets a workload a kustomization renders, one that serves shared routes only,
//      and replaces (same name) the HPA rendered for it rather than adding a second; the metrics
//      and routes its queries name (the HPA's through the prometheus-adapter rule it relies on) are
//      ones that pod's manager really exports: the built binary is started under that pod's
//      settings (no broker) and its /metrics read; docs/observability.md lists exactly the metric
//      families it exports;
//   7. the Grafana dashboards in k8s/grafana/ (imported by hand or through Grafana's sidecar): what
//      Grafana needs to import one (title, uid, schemaVersion, panels each with a type, a unique id
//      and a place on the grid no other panel shares, targets with expr and refId, every panel on
//      the Prometheus data source of the datasource variable); every query (panels' and template
//      variables' label_values) parses as PromQL once Grafana's variables are put in
//      (@prometheus-io/lezer-promql), and its types agree (a range vector where rate() wants one, an
//      instant vector or scalar for the panel); every metric it reads is one the pod's /metrics of
//      section 6 exports (a histogram through _bucket, _sum or _count), and every label it
//      matches, groups, joins or names in a legend is one that metric carries there (le on
//      _bucket) or one Prometheus adds when it scrapes a pod (job, instance, namespace, pod).
// Usage: node validate-manifests.mjs <routemq executable>
//
// With --generated FILE IMAGE it checks instead what `<executable> deploy k8s --image IMAGE`
// printed into FILE: sections 1, 3 and 4, and section 5 for one variant of the objects as they
// are (one Deployment per pool of the executable's routes, each sized from its pool's plan).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import ts from "typescript";
import { parse, parseAllDocuments } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const k8s = path.join(root, "k8s");
const routemq = process.argv[2];
const generatedAt = process.argv.indexOf("--generated");
const generated = generatedAt > 0 ? { file: path.resolve(process.argv[generatedAt + 1]), image: process.argv[generatedAt + 2] } : null;
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
// Examples applied by hand (kubectl apply -f, helm -f): in no kustomization, checked in section 6.
const examples = path.join(k8s, "examples");
const isExample = (file) => file.startsWith(examples + path.sep);

// ---- 1. every YAML document under k8s/ ----------------------------------------------------

function yamlFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

const docsByFile = new Map();
for (const file of generated ? [generated.file] : yamlFiles(k8s)) {
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
if (generated) {
  variants.generated = docsByFile.get(generated.file).map((obj) => ({ obj, file: generated.file }));
  for (const file of docsByFile.keys()) reached.add(file);
}
for (const dir of generated ? [] : [k8s, path.join(k8s, "statefulset"), path.join(k8s, "pools")]) {
  check(`kustomization ${rel(dir)}/ renders`, () => {
    variants[rel(dir)] = render(dir);
  });
}
let devBroker = [];
if (!generated) {
  check("kustomization k8s/dev-broker/ renders", () => {
    devBroker = render(path.join(k8s, "dev-broker"));
  });
}
check("every manifest outside k8s/examples/ belongs to a kustomization, none of k8s/examples/ does", () => {
  const orphans = [...docsByFile.keys()].filter((f) => !isKustomization(f) && !isExample(f) && !reached.has(f));
  assert.deepEqual(orphans.map(rel), []);
  assert.deepEqual([...reached].filter(isExample).map(rel), [], "examples are applied by hand, never by kubectl apply -k");
  assert.deepEqual([...docsByFile.keys()].filter((f) => isExample(f) && isKustomization(f)).map(rel), []);
});
// An example document is a Kubernetes object (sections 3 and 4 check it) or, in a file named
// *-values.yaml, the values of a Helm chart (section 6 checks what it says about routemq).
const helmValues = new Map();  // file -> values
check("k8s/examples/: every document is a Kubernetes object, or Helm values in a *-values.yaml", () => {
  for (const [file, objects] of docsByFile) {
    if (!isExample(file)) continue;
    for (const obj of objects) {
      if (obj.apiVersion !== undefined || obj.kind !== undefined) {
        assert.ok(obj.apiVersion && obj.kind, `${rel(file)}: an object has apiVersion and kind`);
      } else {
        assert.match(path.basename(file), /-values\.ya?ml$/, `${rel(file)}: a document without apiVersion and kind`);
        assert.equal(objects.length, 1, `${rel(file)}: one values document`);
        helmValues.set(file, obj);
      }
    }
  }
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
  if (generated) {
    // no kustomization to render
  } else if (kustomize === null) {
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
  .filter(([file]) => !isKustomization(file) && !helmValues.has(file))
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

// The KEDA models come from the CRD of KEDA (a package of their own); the rest from Kubernetes'.
function modelPath({ apiVersion, kind }) {
  return apiVersion?.startsWith("keda.sh/")
    ? `@kubernetes-models/keda/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
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
const settingDefaults = Object.fromEntries([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
const settingNames = new Set(Object.keys(settingDefaults));
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
    processes: Number(/^WORKERS \(\d+ workers?, (\d+) process(?:es)? with --workers/m.exec(text)?.[1]),
    notShared: /\(not shared\)$/m.test(text),
    // Routes whose workers the manager adds and removes on its own (max_workers).
    // (`  workers 1-4 w1-w4   media/{id}  (autoscaled: 1 to 4 workers)`)
    autoscaled: [...text.matchAll(/^\s+workers \S+\s+\S+\s+(.+?)\s+\(autoscaled: /gm)].map((m) => m[1]),
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
const expectedWorkloads = { k8s: 1, "k8s/statefulset": 1, "k8s/pools": application.pools.length, generated: application.pools.length };
// Each workload a kustomization renders, by kind/name, for the examples (section 6): the variant,
// its plan, its pod's settings and the HPAs rendered for it.
const rendered = new Map();

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
    rendered.set(`${w.kind}/${w.metadata.name}`, { variant: name, workload: w, plan, settings: { ...config, ...literalEnv }, hpas });
    check(`${what}: ${w.kind} runs routemq --workers, image ${generated ? generated.image : `version ${version}`}`, () => {
      assert.deepEqual(c.args, ["--workers"]);
      assert.equal(c.command, undefined, "the image's ENTRYPOINT runs routemq");
      if (generated) assert.equal(c.image, generated.image);
      else assert.match(c.image, new RegExp(`(^|/)routemq:${version.replaceAll(".", "\\.")}$`));
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
  if (name === "k8s/pools" || name === "generated") {
    check(`${name}: one Deployment per pool of the application (${application.pools.join(", ")})`, () => {
      assert.deepEqual(poolsServed.sort(), [...application.pools].sort());
      assert.deepEqual(workloads.map((w) => w.kind), workloads.map(() => "Deployment"));
    });
  }
}

if (!generated) check("the dev broker's Service is the ConfigMap's MQTT_BROKER:MQTT_PORT", () => {
  const config = variants.k8s.map(({ obj }) => obj).find((o) => o.kind === "ConfigMap").data;
  const service = devBroker.map(({ obj }) => obj).find((o) => o.kind === "Service");
  assert.equal(service.metadata.name, config.MQTT_BROKER);
  assert.equal(service.spec.ports[0].port, Number(config.MQTT_PORT));
});

if (!generated) check("the Deployment and StatefulSet variants run the same pod (but for an image set in one of them)", () => {
  const templates = [variants.k8s, variants["k8s/statefulset"]].map((objects) =>
    structuredClone(objects.map(({ obj }) => obj).find((o) => o.kind === "Deployment" || o.kind === "StatefulSet")?.spec.template));
  for (const t of templates) for (const c of t.spec.containers) delete c.image;
  assert.deepEqual(templates[0], templates[1]);
});

// ---- 6. the examples -------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port of 127.0.0.1 that nothing listens on (the kernel's pick, closed again). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Prometheus text: the families (# TYPE lines) with their types, and each sample's name and labels. */
function parseExposition(text) {
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const families = new Set(types.keys());
  const series = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c))]));
    series.push({ name: m[1], labels });
  }
  return { families, types, series };
}

/**
 * What a pod's /metrics exports: the built binary started as the pod starts it (`routemq
 * --workers` under the pod's settings) but with no broker (its workers retry, refused: no metric
 * name depends on it), read once the manager has sampled its routes' busy ratio (every second; up
 * to 20 s), then stopped (SIGTERM; its workers follow it even if it is killed).
 */
const scrapes = new Map();
function exportedBy(settings) {
  const key = JSON.stringify(settings);
  if (!scrapes.has(key)) scrapes.set(key, scrape(settings));
  return scrapes.get(key);
}
async function scrape(settings) {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const child = spawn(routemq, ["--env-file", "/dev/null", "--workers"], {
    env: {
      ...shellEnv, ...settings,
      HTTP_ENABLED: "true", HTTP_HOST: "127.0.0.1", HTTP_PORT: String(httpPort),
      MQTT_BROKER: "127.0.0.1", MQTT_PORT: String(mqttPort), MQTT_TLS: "false",
      INSTANCE_NAME: `manifest-check-${process.pid}-${scrapes.size}`, LOG_LEVEL: "error",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-1500)));
  let status = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve((status = code ?? signal)));
    child.once("error", (e) => resolve((status = e.message)));
  });
  let text = null;
  try {
    for (const deadline = Date.now() + 20000; Date.now() < deadline && status === null;) {
      try {
        text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
        if (/^routemq_route_busy_ratio\{/m.test(text)) break;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  } finally {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15000);
    await exited;
    clearTimeout(killer);
  }
  if (text === null) throw new Error(`routemq --workers served no /metrics (exit ${status}): ${stderr.trim()}`);
  return parseExposition(text);
}

/** The matchers on `label` in a PromQL query or selector: [{op, value}]. */
const matchersOf = (query, label) =>
  [...query.matchAll(new RegExp(`\\b${label}\\s*(=~|!~|!=|=)\\s*"((?:[^"\\\\]|\\\\.)*)"`, "g"))].map(([, op, value]) => ({ op, value }));

/** A Kubernetes quantity as a number ("700m" is 0.7). */
function quantity(q) {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(q));
  assert.ok(m, `quantity ${q}`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/**
 * What section 5 would require of an autoscaler on `ref` if it were rendered with it: a workload
 * some kustomization renders, serving shared routes only, never fewer than 2 replicas.
 */
function checkTarget(ref, min, max) {
  const target = rendered.get(`${ref.kind ?? "Deployment"}/${ref.name}`);
  assert.ok(target, `${ref.kind ?? "Deployment"}/${ref.name} is rendered by none of ${Object.keys(variants).join(", ")}`);
  assert.equal(ref.apiVersion ?? "apps/v1", "apps/v1");
  assert.ok(target.plan, "its plan (section 5)");
  assert.ok(!target.plan.notShared, "it serves non-shared routes: each replica would handle each of their messages");
  assert.ok(min >= 2, `minimum ${min}: with fewer than 2 replicas a drain or a restart can leave the share group empty`);
  assert.ok(min <= target.workload.spec.replicas && target.workload.spec.replicas <= max, `${min} to ${max} vs replicas ${target.workload.spec.replicas}`);
  return target;
}

/**
 * The checks of a query on what `exported` shows: every routemq series it reads is exported, each
 * routemq_route_* series is narrowed to one route (a pod may serve several), and that route is one
 * the target serves and exports the series for. Returns the routes.
 */
function checkQuery(query, exported, target, what) {
  const names = [...new Set(query.match(/\broutemq_[a-zA-Z0-9_]+/g) ?? [])];
  assert.ok(names.length > 0, `${what} reads no routemq metric`);
  const routes = matchersOf(query, "route");
  for (const name of names) {
    assert.ok(exported.series.some((s) => s.name === name), `${what}: ${name} is not on the /metrics of ${target.workload.metadata.name}'s pods`);
    if (name.startsWith("routemq_route_")) assert.ok(routes.some((r) => r.op === "="), `${what}: ${name} without route="..."`);
  }
  for (const { op, value } of routes) {
    assert.equal(op, "=", `${what}: route${op}"${value}" (name the route)`);
    assert.ok(target.plan.routes.includes(value), `${what}: route "${value}" is not one of ${target.workload.metadata.name}'s (${target.plan.routes.join(", ")})`);
    for (const name of names) {
      assert.ok(exported.series.some((s) => s.name === name && s.labels.route === value), `${what}: no ${name}{route="${value}"} on its pods' /metrics`);
    }
  }
  return routes.map((r) => r.value);
}

/**
 * With a route that autoscales inside the pod, the pods' target busy ratio must be at or above
 * the high mark: below it, pods are added before the pod adds its own workers.
 */
function checkAgainstInPodScaling(target, routes, value) {
  const inPod = routes.filter((r) => target.plan.autoscaled.includes(r));
  if (inPod.length === 0) return;
  const high = Number(target.settings.AUTOSCALE_BUSY_HIGH_PERCENT ?? settingDefaults.AUTOSCALE_BUSY_HIGH_PERCENT) / 100;
  assert.ok(value >= high, `${inPod.join(", ")} autoscales in the pod up to AUTOSCALE_BUSY_HIGH_PERCENT (${high}): a target of ${value} adds pods first`);
}

// A stand-in pod name of a workload: Deployment <name>-<hash>-<5>, StatefulSet <name>-<ordinal>.
const podName = (o) => (o.kind === "StatefulSet" ? `${o.metadata.name}-0` : `${o.metadata.name}-7c9f8d6b5-x2lq4`);

// The prometheus-adapter rules of the *-values.yaml examples, each with the name it gives its metric.
const adapterRules = [];
for (const [file, values] of helmValues) {
  for (const rule of values.rules?.custom ?? []) {
    const series = /\b(routemq_[a-zA-Z0-9_]+)/.exec(rule.seriesQuery ?? "")?.[1];
    const m = series && new RegExp(rule.name?.matches ?? "^(.*)$").exec(series);
    const as = rule.name?.as || (m?.length > 1 ? "$1" : "$0");
    adapterRules.push({ file, values, rule, series, exposed: m ? as.replace(/\$(\d+)/g, (_, i) => m[i] ?? "") : null });
  }
}

const exampleObjects = sources.filter(({ file }) => isExample(file));
const exampleTargets = new Set();
for (const { obj: h, file } of exampleObjects.filter(({ obj }) => obj.kind === "HorizontalPodAutoscaler")) {
  const what = `${rel(file)} HPA/${h.metadata.name}`;
  let target = null;
  check(`${what}: targets ${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}, rendered by a kustomization, shared routes only, from 2 replicas`, () => {
    target = checkTarget(h.spec.scaleTargetRef, h.spec.minReplicas ?? 1, h.spec.maxReplicas);
    exampleTargets.add(`${target.workload.kind}/${target.workload.metadata.name}`);
  });
  if (!target) continue;
  check(`${what}: replaces the HPA ${target.variant}/ renders for it (same name), not a second one`, () => {
    for (const other of target.hpas) assert.equal(h.metadata.name, other.metadata.name, `two HPAs on ${h.spec.scaleTargetRef.name}: the controller scales with neither (AmbiguousSelector)`);
  });
  let exported = null;
  try {
    exported = await exportedBy(target.settings);
  } catch (e) {
    fail(`${what}: ${e.message}`);
    continue;
  }
  for (const metric of h.spec.metrics ?? []) {
    if (metric.type === "Resource") continue;
    const name = metric.pods?.metric.name;
    check(`${what}: Pods metric ${name} is exported by ${target.workload.metadata.name}'s pods and served by a prometheus-adapter rule of k8s/examples/`, () => {
      assert.equal(metric.type, "Pods", "a Pods metric (the pods' own /metrics), or a Resource one");
      assert.ok(exported.series.some((s) => s.name === name), `${name} is not on the /metrics of ${target.workload.metadata.name}'s pods`);
      for (const [k, v] of Object.entries(metric.pods.metric.selector?.matchLabels ?? {})) {
        assert.match(v, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, `selector ${k}: not a valid label value`);
      }
      assert.equal(metric.pods.target.type, "AverageValue");
      const value = quantity(metric.pods.target.averageValue);
      assert.ok(value > 0 && value <= 1, `averageValue ${metric.pods.target.averageValue}: the busy ratio is 0 to 1`);
      const rules = adapterRules.filter((r) => r.exposed === name);
      assert.equal(rules.length, 1, `prometheus-adapter rules exposing ${name}: ${rules.length} (one, as rules must not overlap)`);
      const [{ file: values, rule, series, values: chart }] = rules;
      const where = `${rel(values)}`;
      assert.equal(chart.rules.default, false, `${where}: rules.default (the chart's default rules serve every pod series too)`);
      assert.deepEqual(rule.resources?.overrides?.pod, { resource: "pod" }, `${where}: the pod label is the pod`);
      assert.deepEqual(rule.resources?.overrides?.namespace, { resource: "namespace" }, `${where}: the namespace label is the namespace`);
      checkQuery(rule.seriesQuery, exported, target, `${where} seriesQuery`);
      const q = rule.metricsQuery ?? "";
      for (const part of ["<<.Series>>", "<<.LabelMatchers>>"]) assert.ok(q.includes(part), `${where} metricsQuery without ${part}`);
      assert.match(q, /^\s*avg\s+by\s*\(\s*<<\.GroupBy>>\s*\)/, `${where} metricsQuery: averaged per pod, avg by (<<.GroupBy>>) (...)`);
      const routes = checkQuery(q.replaceAll("<<.Series>>", series), exported, target, `${where} metricsQuery`);
      checkAgainstInPodScaling(target, routes, value);
    });
  }
}

for (const { obj: so, file } of exampleObjects.filter(({ obj }) => obj.kind === "ScaledObject")) {
  const what = `${rel(file)} ScaledObject/${so.metadata.name}`;
  const ref = so.spec.scaleTargetRef;
  let target = null;
  check(`${what}: targets ${ref.kind ?? "Deployment"}/${ref.name}, as the example HPA does, shared routes only, from 2 replicas`, () => {
    target = checkTarget(ref, so.spec.minReplicaCount ?? 0, so.spec.maxReplicaCount ?? 100);
    const key = `${target.workload.kind}/${target.workload.metadata.name}`;
    assert.ok(exampleTargets.size === 0 || exampleTargets.has(key), `the HPA examples target ${[...exampleTargets].join(", ")}`);
  });
  if (!target) continue;
  check(`${what}: takes over the HPA ${target.variant}/ renders for it, if any`, () => {
    for (const h of target.hpas) {
      // Otherwise KEDA's webhook refuses it: the Deployment is already scaled by that HPA.
      assert.equal(so.spec.advanced?.horizontalPodAutoscalerConfig?.name, h.metadata.name);
      assert.equal(so.metadata.annotations?.["scaledobject.keda.sh/transfer-hpa-ownership"], "true");
    }
  });
  let exported = null;
  try {
    exported = await exportedBy(target.settings);
  } catch (e) {
    fail(`${what}: ${e.message}`);
    continue;
  }
  so.spec.triggers.forEach((trigger, i) => {
    check(`${what}: trigger ${i + 1} queries Prometheus for metrics ${target.workload.metadata.name}'s pods export, on its pods only`, () => {
      assert.equal(trigger.type, "prometheus");
      assert.ok(["Value", "AverageValue"].includes(trigger.metricType ?? "AverageValue"));
      const { query, threshold, serverAddress } = trigger.metadata;
      assert.match(serverAddress ?? "", /^https?:\/\//, "serverAddress");
      const routes = checkQuery(query, exported, target, "query");
      const pods = matchersOf(query, "pod").filter((p) => p.op === "=~");
      assert.equal(pods.length, 1, 'one pod=~"..." that keeps to the target\'s pods');
      const re = new RegExp(`^(?:${pods[0].value})$`);
      assert.ok(re.test(podName(target.workload)), `pod=~"${pods[0].value}" misses its pods (${podName(target.workload)})`);
      for (const { workload: other } of rendered.values()) {
        if (other !== target.workload) assert.ok(!re.test(podName(other)), `pod=~"${pods[0].value}" takes in ${other.kind}/${other.metadata.name}'s pods`);
      }
      const value = Number(threshold);
      assert.ok(value > 0 && value <= 1, `threshold ${threshold}: the busy ratio is 0 to 1`);
      checkAgainstInPodScaling(target, routes, value);
    });
  });
}

// What the examples (and users' dashboards) read is documented, and nothing documented is gone.
// The families (and their labels) are the same in every pod that runs workers: an examples' scrape
// does, else k8s/'s. Section 7 reads the same scrape.
let podExport = null;
if (!generated) {
  const [pod] = variants.k8s?.map(({ obj }) => obj).filter((o) => o.kind === "Deployment") ?? [];
  const target = pod && rendered.get(`Deployment/${pod.metadata.name}`);
  podExport = scrapes.values().next().value ?? exportedBy(target?.settings ?? {});
  try {
    const { families } = await podExport;
    check("docs/observability.md's metric table lists exactly the families /metrics exports", () => {
      const doc = readFileSync(path.join(root, "docs/observability.md"), "utf8");
      const documented = new Set([...doc.matchAll(/^\| `(routemq_[a-z0-9_]+)` \|/gm)].map((m) => m[1]));
      assert.deepEqual([...families].filter((f) => !documented.has(f)), [], "exported, not in the table");
      assert.deepEqual([...documented].filter((f) => !families.has(f)), [], "in the table, not exported");
    });
  } catch (e) {
    fail(`docs/observability.md's metric table: ${e.message}`);
  }
}

// ---- 7. the Grafana dashboards ---------------------------------------------------------------

// Labels Prometheus puts on every series it scrapes from a pod (job and instance always; namespace
// and pod from the Kubernetes discovery of annotated pods, a PodMonitor or a ServiceMonitor): a
// dashboard may match and group on them besides the metric's own.
const scrapeLabels = ["job", "instance", "namespace", "pod"];
// Grafana's own variables, each put in as a value of its kind before a query is parsed.
const grafanaBuiltins = {
  __rate_interval: "4m", __interval: "1m", __range: "6h",
  __interval_ms: "60000", __range_s: "21600", __range_ms: "21600000",
};
// The panel types of Grafana 10 and 11 themselves (no plugin, no Angular).
const panelTypes = new Set([
  "row", "timeseries", "stat", "gauge", "bargauge", "table", "text", "state-timeline", "status-history",
  "heatmap", "histogram", "piechart", "barchart",
]);

const setText = (labels) => [...labels].sort().join(", ") || "none";

/**
 * What the metric `name` reads on `exported` (a pod's /metrics): its labels there, with the ones
 * Prometheus adds, or why it reads nothing.
 */
function seriesOf(name, exported) {
  const type = exported.types.get(name);
  if (type === "histogram" || type === "summary") {
    return { error: `${name} is a ${type}: its series are ${name}_bucket, ${name}_sum and ${name}_count` };
  }
  const stem = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  if (!type && !["histogram", "summary"].includes(exported.types.get(stem))) {
    return { error: `${name} is not on routemq's /metrics (no such family)` };
  }
  const labels = new Set(scrapeLabels);
  for (const s of exported.series) if (s.name === name) for (const k of Object.keys(s.labels)) labels.add(k);
  return { labels };
}

const children = (node) => {
  const out = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
};
const expressionNodes = new Set([
  "AggregateExpr", "BinaryExpr", "FunctionCall", "MatrixSelector", "NumberDurationLiteral", "OffsetExpr",
  "ParenExpr", "StringLiteral", "SubqueryExpr", "UnaryExpr", "VectorSelector", "StepInvariantExpr",
  "AnchoredExpr", "SmoothedExpr",
]);
const expressions = (node) => children(node).filter((c) => expressionNodes.has(c.name));
const typeName = { vector: "an instant vector", matrix: "a range vector", scalar: "a scalar", string: "a string" };

// The functions this check knows: argument types (a trailing "?" when optional, "..." repeats the
// last) and the labels of the result from those of the arguments.
const keepFirst = (args) => args[0].labels;
const keepSecond = (args) => args[1].labels;
const none = () => new Set();
const functions = {
  ...Object.fromEntries([
    "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "avg_over_time",
    "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "stddev_over_time", "stdvar_over_time", "present_over_time",
  ].map((f) => [f, { args: ["matrix"], returns: "vector", labels: keepFirst }])),
  ...Object.fromEntries([
    "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "timestamp", "sort", "sort_desc",
    "deg", "rad",
  ].map((f) => [f, { args: ["vector"], returns: "vector", labels: keepFirst }])),
  ...Object.fromEntries([
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year",
  ].map((f) => [f, { args: ["vector?"], returns: "vector", labels: (args) => args[0]?.labels ?? new Set() }])),
  quantile_over_time: { args: ["scalar", "matrix"], returns: "vector", labels: keepSecond },
  predict_linear: { args: ["matrix", "scalar"], returns: "vector", labels: keepFirst },
  round: { args: ["vector", "scalar?"], returns: "vector", labels: keepFirst },
  clamp: { args: ["vector", "scalar", "scalar"], returns: "vector", labels: keepFirst },
  clamp_min: { args: ["vector", "scalar"], returns: "vector", labels: keepFirst },
  clamp_max: { args: ["vector", "scalar"], returns: "vector", labels: keepFirst },
  histogram_quantile: {
    args: ["scalar", "vector"], returns: "vector",
    labels: ([, v], problems) => {
      if (v.labels && !v.labels.has("le")) problems.push(`histogram_quantile() over series without le (keep it: sum by (..., le))`);
      return v.labels && new Set([...v.labels].filter((l) => l !== "le"));
    },
  },
  label_replace: {
    args: ["vector", "string", "string", "string", "string"], returns: "vector",
    labels: ([v, dst, , src], problems) => {
      if (v.labels && src.value && !v.labels.has(src.value)) problems.push(`label_replace() from ${src.value}, not a label of its series (${setText(v.labels)})`);
      return v.labels && new Set([...v.labels, dst.value]);
    },
  },
  label_join: {
    args: ["vector", "string", "string", "string..."], returns: "vector",
    labels: ([v, dst, , ...sources], problems) => {
      for (const src of sources) if (v.labels && !v.labels.has(src.value)) problems.push(`label_join() of ${src.value}, not a label of its series (${setText(v.labels)})`);
      return v.labels && new Set([...v.labels, dst.value]);
    },
  },
  vector: { args: ["scalar"], returns: "vector", labels: none },
  scalar: { args: ["vector"], returns: "scalar", labels: none },
  time: { args: [], returns: "scalar", labels: none },
  pi: { args: [], returns: "scalar", labels: none },
  absent: { args: ["vector"], returns: "vector", labels: () => null },
  absent_over_time: { args: ["matrix"], returns: "vector", labels: () => null },
};
const aggregationParameter = { topk: "scalar", bottomk: "scalar", limitk: "scalar", limit_ratio: "scalar", quantile: "scalar", count_values: "string" };
const keepsSeries = new Set(["topk", "bottomk", "limitk", "limit_ratio"]);
const comparisons = new Set(["Eql", "Neq", "Gtr", "Gte", "Lss", "Lte"]);
const setOperators = new Set(["And", "Or", "Unless"]);

/**
 * The type and labels (null when unknown) of the PromQL expression `node` of `query`, the metrics
 * it reads added to `metrics`, what is wrong with it to `problems`.
 */
function analyze(node, query, exported, metrics, problems) {
  if (!node) return { type: null, labels: null };
  const text = (n) => query.slice(n.from, n.to);
  const sub = (n) => analyze(n, query, exported, metrics, problems);
  const labelNames = (n) => (n ? n.getChildren("LabelName").map(text) : []);
  switch (node.name) {
    case "PromQL":
    case "ParenExpr":
    case "OffsetExpr":
    case "StepInvariantExpr":
      return sub(expressions(node)[0]);
    case "UnaryExpr":
      return sub(expressions(node).at(-1));
    case "NumberDurationLiteral":
      return { type: "scalar", labels: new Set() };
    case "StringLiteral":
      return { type: "string", labels: new Set(), value: text(node).slice(1, -1).replace(/\\(.)/g, "$1") };
    case "VectorSelector": {
      const name = node.getChild("Identifier") && text(node.getChild("Identifier"));
      const matchers = node.getChild("LabelMatchers") ? children(node.getChild("LabelMatchers")) : [];
      if (!name) {
        problems.push(`${text(node)}: name the metric before the braces`);
        return { type: "vector", labels: null };
      }
      metrics.add(name);
      const series = seriesOf(name, exported);
      if (series.error) problems.push(series.error);
      for (const m of matchers) {
        if (m.name !== "UnquotedLabelMatcher") {
          problems.push(`${text(m)}: a quoted label name (this check reads label="value" matchers only)`);
          continue;
        }
        const label = text(m.getChild("LabelName"));
        if (series.labels && !series.labels.has(label)) problems.push(`${name}{${label}...}: ${label} is not a label of ${name} (${setText(series.labels)})`);
      }
      return { type: "vector", labels: series.labels ?? null };
    }
    case "MatrixSelector": {
      const v = sub(node.getChild("VectorSelector"));
      return { type: "matrix", labels: v.labels };
    }
    case "SubqueryExpr": {
      const v = sub(expressions(node)[0]);
      if (v.type !== "vector") problems.push(`${text(node)}: a subquery of ${typeName[v.type]} (it takes an instant vector)`);
      return { type: "matrix", labels: v.labels };
    }
    case "FunctionCall": {
      const name = text(node.getChild("FunctionIdentifier"));
      const args = expressions(node.getChild("FunctionCallBody")).map(sub);
      const signature = functions[name];
      if (!signature) {
        problems.push(`${name}(): a function this check does not know (add it to its table if Prometheus has it without a feature flag)`);
        return { type: "vector", labels: null };
      }
      const wanted = signature.args;
      const required = wanted.filter((t) => !t.endsWith("?")).length;
      const variadic = wanted.at(-1)?.endsWith("...");
      if (args.length < required - (variadic ? 1 : 0) || (!variadic && args.length > wanted.length)) {
        problems.push(`${name}() takes ${wanted.join(", ") || "no argument"}, given ${args.length} argument(s)`);
        return { type: signature.returns, labels: null };
      }
      args.forEach((a, i) => {
        const want = wanted[Math.min(i, wanted.length - 1)].replace(/[?.]+$/, "");
        if (a.type && a.type !== want) {
          problems.push(`${name}() argument ${i + 1} is ${typeName[a.type]}, it takes ${typeName[want]}${want === "matrix" ? " (metric[$__rate_interval])" : ""}`);
        }
      });
      return { type: signature.returns, labels: signature.labels(args, problems) };
    }
    case "AggregateExpr": {
      const op = text(node.getChild("AggregateOp"));
      const args = expressions(node.getChild("FunctionCallBody")).map(sub);
      const parameter = aggregationParameter[op];
      const wanted = parameter ? [parameter, "vector"] : ["vector"];
      if (args.length !== wanted.length) {
        problems.push(`${op}() takes ${wanted.map((t) => typeName[t]).join(" and ")}, given ${args.length} argument(s)`);
        return { type: "vector", labels: null };
      }
      args.forEach((a, i) => {
        if (a.type && a.type !== wanted[i]) problems.push(`${op}() argument ${i + 1} is ${typeName[a.type]}, it takes ${typeName[wanted[i]]}`);
      });
      const input = args.at(-1).labels;
      const modifier = node.getChild("AggregateModifier");
      const grouping = labelNames(modifier?.getChild("GroupingLabels"));
      const kind = modifier?.getChild("By") ? "by" : modifier?.getChild("Without") ? "without" : null;
      if (input) {
        for (const l of grouping) if (!input.has(l)) problems.push(`${op} ${kind} (${grouping.join(", ")}): ${l} is not a label of what it aggregates (${setText(input)})`);
      }
      let labels;
      if (keepsSeries.has(op)) labels = input;
      else if (kind === "by") labels = new Set(grouping);
      else if (kind === "without") labels = input && new Set([...input].filter((l) => !grouping.includes(l)));
      else labels = new Set();
      if (op === "count_values" && labels) labels = new Set([...labels, args[0].value]);
      return { type: "vector", labels };
    }
    case "BinaryExpr": {
      const [lhsNode, rhsNode] = [expressions(node)[0], expressions(node).at(-1)];
      const [lhs, rhs] = [sub(lhsNode), sub(rhsNode)];
      const op = lhsNode.nextSibling.name;
      const matching = node.getChild("MatchingModifierClause");
      if (node.getChild("FillModifier")) problems.push(`${text(node)}: fill modifiers are experimental (a feature flag)`);
      for (const [side, v] of [["left", lhs], ["right", rhs]]) {
        if (v.type !== "vector" && v.type !== "scalar" && v.type) problems.push(`${text(node)}: the ${side} side is ${typeName[v.type]}`);
      }
      if (lhs.type !== "vector" || rhs.type !== "vector") {
        if (setOperators.has(op)) problems.push(`${text(node)}: ${op.toLowerCase()} joins two instant vectors`);
        if (matching) problems.push(`${text(node)}: on/ignoring/group_* need an instant vector on both sides`);
        const v = lhs.type === "vector" ? lhs : rhs;
        return { type: v.type === "vector" ? "vector" : "scalar", labels: v.labels };
      }
      const clause = matching ? children(matching) : [];
      const groupings = matching ? matching.getChildren("GroupingLabels") : [];
      const on = clause.some((c) => c.name === "On");
      const ignoring = clause.some((c) => c.name === "Ignoring");
      const groupLeft = clause.some((c) => c.name === "GroupLeft");
      const groupRight = clause.some((c) => c.name === "GroupRight");
      const matchLabels = on || ignoring ? labelNames(groupings[0]) : [];
      const include = groupLeft || groupRight ? labelNames(groupings[on || ignoring ? 1 : 0]) : [];
      if (!lhs.labels || !rhs.labels) return { type: "vector", labels: null };
      if (on) {
        for (const l of matchLabels) {
          for (const [side, v] of [["left", lhs], ["right", rhs]]) {
            if (!v.labels.has(l)) problems.push(`on(${matchLabels.join(", ")}): ${l} is not a label of the ${side} side (${setText(v.labels)})`);
          }
        }
      }
      const one = groupLeft ? rhs : lhs;
      for (const l of include) if (!one.labels.has(l)) problems.push(`group_${groupLeft ? "left" : "right"}(${include.join(", ")}): ${l} is not a label of the ${groupLeft ? "right" : "left"} side (${setText(one.labels)})`);
      if (setOperators.has(op)) {
        return { type: "vector", labels: op === "Or" ? new Set([...lhs.labels, ...rhs.labels]) : lhs.labels };
      }
      if (groupLeft) return { type: "vector", labels: new Set([...lhs.labels, ...include]) };
      if (groupRight) return { type: "vector", labels: new Set([...rhs.labels, ...include]) };
      if (on) return { type: "vector", labels: comparisons.has(op) && !node.getChild("BoolModifier") ? lhs.labels : new Set(matchLabels) };
      const strip = (labels) => setText([...labels].filter((l) => !matchLabels.includes(l)));
      if (strip(lhs.labels) !== strip(rhs.labels)) {
        problems.push(`${text(node)}: the sides have different labels (${strip(lhs.labels)} vs ${strip(rhs.labels)}), so no series match one to one: aggregate them alike, or use on(...)/ignoring(...)`);
      }
      return { type: "vector", labels: new Set([...lhs.labels].filter((l) => !matchLabels.includes(l))) };
    }
    default:
      problems.push(`${text(node)}: ${node.name} is not read by this check`);
      return { type: null, labels: null };
  }
}

/**
 * A query of a dashboard as Prometheus gets it: Grafana's variables put in (each variable of the
 * dashboard, inside a string, as x; Grafana's own as a duration or number), then parsed. Returns
 * the tree and the problems of the text; a variable outside a string, or one that can hold several
 * values matched with = or !=, is a problem.
 */
function parseQuery(expr, variables) {
  const problems = [];
  const spans = [];
  let query = "";
  let last = 0;
  for (const m of expr.matchAll(/\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)(?::\w+)?\]\]/g)) {
    query += expr.slice(last, m.index);
    last = m.index + m[0].length;
    const name = m[1] ?? m[2] ?? m[3];
    if (name in grafanaBuiltins) {
      query += grafanaBuiltins[name];
      continue;
    }
    if (name.startsWith("__")) problems.push(`$${name}: not one of Grafana's variables this check knows (${Object.keys(grafanaBuiltins).map((b) => `$${b}`).join(", ")})`);
    else if (!variables.has(name)) problems.push(`$${name}: the dashboard has no such variable`);
    spans.push({ from: query.length, name });
    query += "x";
  }
  query += expr.slice(last);
  const tree = promqlParser.parse(query);
  const strings = [];
  let error = null;
  tree.iterate({
    enter(n) {
      if (n.type.isError) error ??= n.from;
      if (n.name === "StringLiteral") strings.push(n.node);
    },
  });
  if (error !== null) {
    // The first error only: the parser recovers, and what follows it is mostly noise.
    const near = query.slice(Math.max(0, error - 25), error + 25).replace(/\s+/g, " ");
    const call = /([A-Za-z_]\w*)\s*$/.exec(query.slice(0, error))?.[1];
    const hint = call && query[error] === "(" && !(call in functions) ? `: ${call} is not a function of PromQL` : "";
    problems.push(`not valid PromQL at character ${error + 1} of the query as Prometheus gets it (near "${near}")${hint}`);
    return { tree, query, problems };
  }
  for (const { from, name } of spans) {
    const string = strings.find((s) => s.from < from && from < s.to);
    if (!string) {
      problems.push(`$${name} outside a string`);
      continue;
    }
    const op = string.parent?.name === "UnquotedLabelMatcher" ? query.slice(string.parent.getChild("MatchOp").from, string.parent.getChild("MatchOp").to) : null;
    const v = variables.get(name);
    if (v && (v.multi || v.includeAll) && (op === "=" || op === "!=")) {
      problems.push(`$${name} can hold several values (a regular expression): match it with ${op === "=" ? "=~" : "!~"}, not ${op}`);
    }
  }
  return { tree, query, problems };
}

/** What is wrong with the query `expr` of a panel or a variable; `result` gets its type and labels. */
function checkExpr(expr, variables, exported, result = {}) {
  const { tree, query, problems } = parseQuery(expr, variables);
  if (problems.length > 0) return problems;
  const metrics = new Set();
  Object.assign(result, analyze(tree.topNode, query, exported, metrics, problems));
  if (metrics.size === 0) problems.push("reads no metric");
  return problems;
}

const grafanaDir = path.join(k8s, "grafana");
const dashboards = generated || !existsSync(grafanaDir) ? [] : readdirSync(grafanaDir).filter((f) => f.endsWith(".json")).map((f) => path.join(grafanaDir, f));
if (!generated) check("k8s/grafana/ holds a dashboard", () => assert.ok(dashboards.length > 0, "no *.json in k8s/grafana/"));
let exportedToDashboards = null;
if (dashboards.length > 0) {
  try {
    exportedToDashboards = await podExport;
  } catch (e) {
    fail(`k8s/grafana/: ${e.message}`);
  }
}
for (const file of exportedToDashboards ? dashboards : []) {
  const exported = exportedToDashboards;
  let d;
  try {
    d = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    fail(`${rel(file)}: not JSON: ${e.message}`);
    continue;
  }
  const variables = new Map();
  let datasourceRef = null;
  check(`${rel(file)}: a dashboard Grafana imports (title, uid, schemaVersion, panels, a Prometheus datasource variable)`, () => {
    const problems = [];
    if (typeof d.title !== "string" || !d.title.trim()) problems.push("no title");
    if (typeof d.uid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) problems.push(`uid ${JSON.stringify(d.uid)} (1 to 40 of A-Z, a-z, 0-9, - and _)`);
    if (!Number.isInteger(d.schemaVersion) || d.schemaVersion < 36) problems.push(`schemaVersion ${d.schemaVersion} (36 or later: Grafana 10 and 11 read data sources by uid)`);
    if (d.id !== null && d.id !== undefined) problems.push(`id ${d.id}: an import takes id null (the id is the Grafana instance's)`);
    if (!Array.isArray(d.panels) || d.panels.length === 0) problems.push("no panels");
    for (const v of d.templating?.list ?? []) {
      if (variables.has(v.name)) problems.push(`variable ${v.name} twice`);
      variables.set(v.name, v);
    }
    const sources = [...variables.values()].filter((v) => v.type === "datasource");
    if (sources.length !== 1 || sources[0].query !== "prometheus") {
      problems.push(`${sources.length} data source variable(s): one, of type datasource with query "prometheus", that every panel uses as \${name}`);
    } else {
      datasourceRef = { type: "prometheus", uid: `\${${sources[0].name}}` };
    }
    assert.ok(problems.length === 0, problems.join("; "));
  });

  // The template variables: label_values() of metrics and labels /metrics has.
  for (const v of variables.values()) {
    if (v.type !== "query") continue;
    check(`${rel(file)} variable ${v.name}: label_values() of a metric and a label routemq exports`, () => {
      const problems = [];
      if (datasourceRef && JSON.stringify(v.datasource) !== JSON.stringify(datasourceRef)) problems.push(`datasource ${JSON.stringify(v.datasource)}, not ${JSON.stringify(datasourceRef)}`);
      const q = typeof v.query === "string" ? v.query : v.query?.query;
      const m = /^\s*label_values\(\s*(.+)\s*,\s*([A-Za-z_]\w*)\s*\)\s*$/.exec(q ?? "");
      if (!m) {
        problems.push(`query ${JSON.stringify(q)}: label_values(metric{...}, label) (the one form this check reads)`);
      } else {
        const result = {};
        problems.push(...checkExpr(m[1], variables, exported, result));
        if (problems.length === 0 && result.type !== "vector") problems.push(`label_values() of ${typeName[result.type]}`);
        if (result.labels && !result.labels.has(m[2])) problems.push(`${m[2]} is not a label of ${m[1]} (${setText(result.labels)})`);
      }
      if (v.includeAll && v.allValue !== ".*") problems.push(`allValue ${JSON.stringify(v.allValue)}: ".*" (else All lists every value in the query, and a pod without the label matches none)`);
      assert.ok(problems.length === 0, problems.join("; "));
    });
  }

  // Every panel, rows and those inside collapsed rows included.
  const all = [];
  for (const p of d.panels ?? []) {
    all.push({ panel: p, row: null, level: d.panels });
    for (const inner of p.type === "row" ? p.panels ?? [] : []) all.push({ panel: inner, row: p, level: p.panels });
  }
  const name = (p) => `panel ${p.id} "${p.title ?? ""}"`;
  const rect = (p) => p.gridPos ?? {};
  const overlaps = (a, b) => rect(a).x < rect(b).x + rect(b).w && rect(b).x < rect(a).x + rect(a).w && rect(a).y < rect(b).y + rect(b).h && rect(b).y < rect(a).y + rect(a).h;
  for (const { panel: p, row, level } of all) {
    const problems = [];
    if (!panelTypes.has(p.type)) problems.push(`type ${JSON.stringify(p.type)}: not a panel type of Grafana itself (${[...panelTypes].join(", ")})`);
    if (!Number.isInteger(p.id) || p.id <= 0) problems.push(`id ${JSON.stringify(p.id)} (a positive integer)`);
    // A repeated id or an overlap is told once, on the later of the two panels.
    const earlier = all.slice(0, all.findIndex((o) => o.panel === p));
    const twin = earlier.find(({ panel: o }) => o.id === p.id);
    if (twin) problems.push(`id ${p.id} is also ${name(twin.panel)}'s (ids are unique in a dashboard)`);
    if (typeof p.title !== "string" || !p.title.trim()) problems.push("no title");
    const g = p.gridPos;
    if (!g || !["x", "y", "w", "h"].every((k) => Number.isInteger(g[k])) || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) {
      problems.push(`gridPos ${JSON.stringify(g)}: integers x, y, w, h with w, h of 1 or more and x + w within the 24 columns`);
    } else {
      for (const { panel: o } of earlier.filter((o) => o.level === level && o.panel.gridPos)) {
        if (overlaps(p, o)) problems.push(`overlaps ${name(o)} (gridPos ${JSON.stringify(g)} and ${JSON.stringify(o.gridPos)})`);
      }
    }
    if (p.type === "row") {
      if (g && (g.x !== 0 || g.w !== 24 || g.h !== 1)) problems.push("a row spans the width at height 1 (x 0, w 24, h 1)");
      if (!p.collapsed && (p.panels ?? []).length > 0) problems.push("an open row holds its panels after it, not in its panels (Grafana drops those)");
    } else if (p.type !== "text") {
      if (datasourceRef && JSON.stringify(p.datasource) !== JSON.stringify(datasourceRef)) problems.push(`datasource ${JSON.stringify(p.datasource)}, not ${JSON.stringify(datasourceRef)}`);
      if (["timeseries", "stat", "gauge", "bargauge"].includes(p.type) && !p.fieldConfig?.defaults?.unit) problems.push("no unit (fieldConfig.defaults.unit)");
      if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push("no targets");
      const refIds = new Set();
      for (const t of p.targets ?? []) {
        const which = `target ${t.refId ?? "?"}`;
        if (typeof t.refId !== "string" || !t.refId) problems.push("a target without refId");
        else if (refIds.has(t.refId)) problems.push(`refId ${t.refId} twice`);
        refIds.add(t.refId);
        if (t.datasource !== undefined && datasourceRef && JSON.stringify(t.datasource) !== JSON.stringify(datasourceRef)) problems.push(`${which}: datasource ${JSON.stringify(t.datasource)}, not ${JSON.stringify(datasourceRef)}`);
        if (typeof t.expr !== "string" || !t.expr.trim()) {
          problems.push(`${which}: no expr`);
          continue;
        }
        const result = {};
        const found = checkExpr(t.expr, variables, exported, result);
        problems.push(...found.map((f) => `${which}: ${f}`));
        if (found.length > 0) continue;
        if (result.type !== "vector" && result.type !== "scalar") problems.push(`${which}: ${typeName[result.type]} (a panel shows an instant vector or a scalar)`);
        for (const [, label] of (t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
          if (result.labels && !result.labels.has(label)) problems.push(`${which}: legend {{${label}}} is not a label of its result (${setText(result.labels)})`);
        }
      }
    }
    const what = `${rel(file)} ${name(p)}${row ? ` (in row "${row.title}")` : ""}`;
    if (problems.length > 0) fail(`${what}: ${problems.join("; ")}`);
    else console.log(`ok: ${what}`);
  }
}

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
