// Validates `routemq asyncapi` for the example application offline (make test), under several
// settings (MQTT 5 and 3.1.1, TLS, an IPv6 broker, --pools, a title and version a careless YAML
// writer would turn into a boolean and a number), and for the integration tests' application
// (routes on `+` and `#`, lambdas, one handler on several routes):
//   1. both formats parse with @asyncapi/parser: the AsyncAPI 3.0 schema, the MQTT bindings'
//      schemas and the parser's own rules; any error or warning fails (information, such as
//      "a newer AsyncAPI version exists", does not: the document is 3.0 on purpose);
//   2. the YAML reads back (strict, duplicate keys are errors) as exactly the JSON document;
//   3. what the schema cannot know: one receive operation per route that `routemq routes` lists
//      under the same settings, with its pattern, filter, qos, pool and subscription, the share
//      group on shared routes only; every message an operation or a reply names belongs to the
//      channel it names; the reply (MQTT 5 only) goes to the reply channel, whose address is
//      unknown (each request names its own);
//   4. the excerpt in docs/asyncapi.md is part of what the example's document really says.
// Usage: node validate-asyncapi.mjs <routemq executable> [<another application's executable>]
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Parser } from "@asyncapi/parser";
import { parse } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const [routemq, otherApp] = process.argv.slice(2);
const failures = [];
const parser = new Parser();

// Only the settings each case gives: none of this shell's, no .env.
const envExample = readFileSync(path.join(root, ".env.example"), "utf8");
const settingNames = new Set([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !settingNames.has(k)));

function run(args, settings, executable = routemq) {
  try {
    return execFileSync(executable, ["--env-file", "/dev/null", ...args], {
      encoding: "utf8",
      env: { ...shellEnv, ...settings },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    throw new Error(`${path.basename(executable)} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

/// The route table of `routemq routes`: one object per route, keyed by the header's names.
function routeTable(args, settings, executable) {
  const [header, ...rows] = run([...args, "routes"], settings, executable)
    .split("\n\n")[0]
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(/\s+/));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

/// The object a local `$ref` ("#/channels/x/messages/y") points at, or undefined.
function resolve(doc, ref) {
  assert.ok(ref.startsWith("#/"), `${ref} is a local reference`);
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((node, key) => node?.[key], doc);
}

async function checkCase(name, { args = [], options = [], settings = {}, info = undefined, executable = routemq }) {
  const texts = {};
  try {
    for (const format of ["yaml", "json"]) {
      texts[format] = run([...args, "asyncapi", "--format", format, ...options], settings, executable);
    }
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    console.error(`FAIL: ${name}: ${e.message}`);
    return;
  }
  for (const [format, text] of Object.entries(texts)) {
    const { document, diagnostics } = await parser.parse(text);
    // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
    const problems = diagnostics.filter((d) => d.severity <= 1);
    for (const d of problems) {
      const message = `${name} (${format}): ${d.code}: ${d.message} at ${d.path.join(".")}`;
      failures.push(message);
      console.error(`FAIL: ${message}`);
    }
    if (problems.length === 0 && document) console.log(`ok: ${name} (${format}) parses with @asyncapi/parser, no error or warning`);
    else if (problems.length === 0) failures.push(`${name} (${format}): the parser made no document`);
  }
  const check = (what, fn) => {
    try {
      fn();
      console.log(`ok: ${name}: ${what}`);
    } catch (e) {
      failures.push(`${name}: ${what}: ${e.message}`);
      console.error(`FAIL: ${name}: ${what}: ${e.message}`);
    }
  };
  const doc = JSON.parse(texts.json);
  if (info) {
    check(`info.title and info.version are ${JSON.stringify(info)}`, () => {
      assert.deepEqual({ title: doc.info.title, version: doc.info.version }, info);
    });
  }
  check("the YAML reads back as the JSON document", () => {
    assert.deepEqual(parse(texts.yaml, { uniqueKeys: true, strict: true, prettyErrors: true }), doc);
  });
  check("one receive operation per route of `routemq routes`, with its subscription", () => {
    const routes = routeTable(args, settings, executable);
    const operations = Object.values(doc.operations);
    assert.equal(operations.length, routes.length, "operations");
    const mqtt5 = (settings.MQTT_PROTOCOL ?? "5") === "5";
    for (const route of routes) {
      const matching = operations.filter((o) => o["x-routemq"]?.pattern === route.PATTERN);
      assert.equal(matching.length, 1, `operations of ${route.PATTERN}`);
      const [operation] = matching;
      assert.equal(operation.action, "receive");
      assert.equal(operation["x-routemq"].pool, route.POOL, `${route.PATTERN}: pool`);
      const binding = operation.bindings.mqtt;
      assert.equal(binding.qos, Number(route.QOS), `${route.PATTERN}: qos`);
      assert.equal(binding["x-subscription"], route.SUBSCRIPTION, `${route.PATTERN}: subscription`);
      const shared = route.SUBSCRIPTION.startsWith("$share/");
      assert.equal(binding["x-share-group"], shared ? route.SUBSCRIPTION.split("/")[1] : undefined);
      const channel = resolve(doc, operation.channel.$ref);
      assert.ok(channel, `${operation.channel.$ref} exists`);
      assert.equal(channel.title, route.PATTERN);
      // The address is the pattern with its wildcards named: back to the filter it subscribes.
      const levels = channel.address.split("/").map((l) => (/^\{.+\}$/.test(l) ? "+" : l));
      if (route.FILTER.endsWith("#")) levels[levels.length - 1] = "#";
      assert.equal(levels.join("/"), route.FILTER, `${route.PATTERN}: address ${channel.address}`);
      for (const { $ref } of operation.messages) {
        assert.ok($ref.startsWith(`${operation.channel.$ref}/messages/`), `${$ref} is a message of its channel`);
        assert.ok(resolve(doc, $ref), `${$ref} exists`);
      }
      if (!mqtt5) {
        assert.equal(operation.reply, undefined, `${route.PATTERN}: no reply under MQTT 3.1.1`);
        continue;
      }
      const reply = resolve(doc, operation.reply.channel.$ref);
      assert.equal(reply.address, null, "the reply channel's address is each request's own");
      const statuses = operation.reply.messages.map(({ $ref }) => {
        assert.ok($ref.startsWith(`${operation.reply.channel.$ref}/messages/`), `${$ref} is a message of the reply channel`);
        return resolve(doc, $ref).headers.properties["routemq-status"].const;
      });
      assert.deepEqual(statuses, ["accepted", "progress", "done", "failed"]);
    }
  });
}

await checkCase("the example", {});
await checkCase("the example, pool ingest", { args: ["--pools", "ingest"] });
await checkCase("the example over MQTT 3.1.1 and TLS, an IPv6 broker", {
  settings: { MQTT_PROTOCOL: "3.1.1", MQTT_TLS: "true", MQTT_BROKER: "::1", MQTT_GROUP_NAME: "on" },
});
// A title and a version that a YAML writer quoting too little turns into a boolean and a number.
await checkCase("the example titled 'yes', version 1.0", {
  options: ["--title", "yes", "--api-version", "1.0"],
  info: { title: "yes", version: "1.0" },
});
if (otherApp) await checkCase("the integration tests' application", { executable: otherApp });

// Every key of the excerpt is in the document with the same value (arrays item by item, each
// item itself an excerpt); the excerpt may leave keys out.
function assertExcerpt(excerpt, actual, where = "") {
  if (excerpt === null || typeof excerpt !== "object") {
    assert.deepEqual(actual, excerpt, where || "value");
    return;
  }
  assert.equal(Array.isArray(actual), Array.isArray(excerpt), `${where}: kind`);
  if (Array.isArray(excerpt)) assert.equal(actual.length, excerpt.length, `${where}: items`);
  for (const [key, value] of Object.entries(excerpt)) {
    assert.ok(actual !== null && typeof actual === "object" && key in actual, `${where}.${key} is in the document`);
    assertExcerpt(value, actual[key], `${where}.${key}`);
  }
}
try {
  const guide = readFileSync(path.join(root, "docs/asyncapi.md"), "utf8");
  const blocks = [...guide.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.equal(blocks.length, 1, "docs/asyncapi.md has one yaml block");
  assertExcerpt(parse(blocks[0], { uniqueKeys: true }), parse(run(["asyncapi"], {})));
  console.log("ok: docs/asyncapi.md's excerpt is what routemq asyncapi prints");
} catch (e) {
  failures.push(`docs/asyncapi.md's excerpt: ${e.message}`);
  console.error(`FAIL: docs/asyncapi.md's excerpt: ${e.message}`);
}

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
