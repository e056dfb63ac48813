// A stand-in for the app's dashboard endpoints, to develop and try core/src/http/dashboard.html
// without the app, and to show that check-dashboard.mjs fails when the server misbehaves.
//   node mock-server.mjs PORT [--read-only] [--break=MODE]
// Serves the page at / (and at /prefix/, to try a path prefix) with the JSON contract of the
// C++ side under api/: three workers whose counters rise, two routes with a growing history,
// a few dead letters, and the token `secret` for actions.
// MODE (for testing the check): no-workers, frozen (counters stop), no-rate, open-replay
// (replay accepted without a token), keep-replayed (replay says ok but the entry stays),
// console-error, external (the page asks another origin), leak-token (the page shows the token).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const pagePath = fileURLToPath(new URL("../../core/src/http/dashboard.html", import.meta.url));
const port = Number(process.argv[2] || 8099);
const readOnly = process.argv.includes("--read-only");
const breakMode = (process.argv.find((a) => a.startsWith("--break=")) || "").slice("--break=".length);
const TOKEN = "secret";

const started = Date.now() - 3_723_000;
const routes = [
  { route: "sensors/{device_id}/data", shared: true, qos: 1, base: 120, min_workers: 1, max_workers: 3, workers: 2 },
  { route: "orders/{id}", shared: false, qos: 1, base: 8, min_workers: 1, max_workers: 1, workers: 1 },
];
const history = new Map(routes.map((r) => [r.route, { in_per_s: [], busy_percent: [] }]));
const processes = [
  { process: "w1", worker: 1, lane: "", routes: [routes[0].route], pid: 4101, handled: 1200, restarts: 0, rss_kb: 10240 },
  { process: "w2", worker: 2, lane: "", routes: [routes[0].route], pid: 4102, handled: 1150, restarts: 1, rss_kb: 11020 },
  { process: "w3", worker: 3, lane: "slow", routes: [routes[1].route], pid: 4103, handled: 90, restarts: 0, rss_kb: 9500 },
  { process: "w4", worker: 4, lane: "", routes: [routes[0].route], pid: 0, handled: 0, restarts: 0, rss_kb: 0, state: "spare" },
];
let seq = 0;
const newId = (ms) => `${ms}-${(0x9f86d081a1b2c3d4n + BigInt(++seq)).toString(16).padStart(16, "0")}`;
const deadLetters = new Map();
function addDeadLetter(route, reason, error, topic, payload, extra = {}) {
  const when = Date.now() - Math.floor(Math.random() * 600_000);
  const id = newId(when);
  deadLetters.set(id, { id, when_ms: when, route, reason, attempts: reason === "failed" ? 3 : 1, error, topic,
    size: Buffer.byteLength(payload), payload, ...extra });
}
addDeadLetter("orders/{id}", "failed", "database down", "orders/17", '{"order": 17, "qty": 2}',
  { properties: [["trace", "abc123"], ["tenant", "<b>acme</b>"]], response_topic: "replies/17", correlation_data_hex: "0a0b" });
addDeadLetter("sensors/{device_id}/data", "payload", "expected a JSON object", "sensors/7/data", "\u00ff\u00fe binary",
  { binary: true });
addDeadLetter("orders/{id}", "poison", "killed 3 workers (timeout)", "orders/99", "<script>alert(1)</script>");
let evicted = 0;

function tick() {
  const t = Date.now() / 1000;
  for (const r of routes) {
    const frozen = breakMode === "frozen" || breakMode === "no-rate";
    r.in_per_s = frozen ? 0 : Math.max(0, r.base * (1 + 0.3 * Math.sin(t / 7)) + Math.random() * r.base * 0.1);
    r.out_per_s = r.in_per_s * 0.97;
    r.busy_percent = frozen ? 0 : Math.min(100, r.in_per_s / 4);
  }
  if (breakMode !== "frozen") for (const p of processes) if (p.pid) p.handled += Math.floor(Math.random() * 40) + 1;
}
setInterval(tick, 1000).unref();
tick();
function sample() {
  for (const r of routes) {
    const h = history.get(r.route);
    h.in_per_s.push(Math.round(r.in_per_s * 10) / 10);
    h.busy_percent.push(Math.round(r.busy_percent * 10) / 10);
    for (const a of [h.in_per_s, h.busy_percent]) if (a.length > 150) a.shift();
  }
}
setInterval(sample, 2000).unref();
setInterval(() => addDeadLetter("orders/{id}", "failed", "timeout talking to stock service", `orders/${100 + seq}`, "{}"), 45_000).unref();

function pod() {
  return {
    app: "routemq-example", instance: "mock-pod", mode: "workers", now_ms: Date.now(), started_ms: started,
    actions: !readOnly,
    processes: breakMode === "no-workers" ? [] : processes.map((p) => ({
      process: p.process, worker: p.worker, lane: p.lane, routes: p.routes, pid: p.pid,
      state: p.state || "serving", connected: p.pid > 0, handled: p.handled, busy_percent: p.pid ? Math.random() * 40 : 0,
      restarts: p.restarts, rss_kb: p.rss_kb,
      message: p.pid && Math.random() < 0.5 ? { route: p.routes[0], topic: "sensors/7/data", age_ms: Math.random() * 5 } : null,
    })),
    routes: routes.map((r) => ({ route: r.route, shared: r.shared, qos: r.qos, in_per_s: r.in_per_s, out_per_s: r.out_per_s,
      p50_ms: 0.4, p99_ms: 2.1, busy_percent: r.busy_percent, workers: r.workers, min_workers: r.min_workers,
      max_workers: r.max_workers, retries: 2, dead_letters: [...deadLetters.values()].filter((d) => d.route === r.route).length,
      timeouts: 0 })),
    history: { interval_s: 2, samples: 150, routes: routes.map((r) => ({ route: r.route, ...history.get(r.route) })) },
    dead_letters: { kept: deadLetters.size, max: 10000, evicted, available: true },
    route_table: "ROUTE                      SHARED  QOS  WORKERS\n" +
      routes.map((r) => `${r.route.padEnd(27)}${(r.shared ? "yes" : "no").padEnd(8)}${String(r.qos).padEnd(5)}${r.min_workers}-${r.max_workers}`).join("\n"),
  };
}
const item = (d) => ({ id: d.id, when_ms: d.when_ms, route: d.route, reason: d.reason, attempts: d.attempts,
  error: d.error, topic: d.topic, size: d.size });

function page() {
  let html = readFileSync(pagePath, "utf8");
  if (breakMode === "console-error") html = html.replace("</body>", "<script>console.error('mock: broken on purpose')</script></body>");
  if (breakMode === "external") html = html.replace("</body>", '<img src="http://127.0.0.2:9/pixel.png" alt=""></body>');
  if (breakMode === "leak-token") html = html.replace('has ? "token set"', "has ? `token set: ${token()}`");
  return html;
}

function send(res, status, body, type = "application/json") {
  const text = type === "application/json" ? JSON.stringify(body) : body;
  res.writeHead(status, { "Content-Type": `${type}; charset=utf-8`, "Cache-Control": "no-store" });
  res.end(text);
}

createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  let path = url.pathname.replace(/^\/prefix(?=\/)/, "");
  if (req.method === "GET" && (path === "/" || path === "/index.html")) return send(res, 200, page(), "text/html");
  if (!path.startsWith("/api/")) return send(res, 404, { error: `no such page: ${path}` });
  path = path.slice("/api/".length);
  if (req.method === "GET") {
    if (path === "pod") return send(res, 200, pod());
    if (path === "dead-letters") {
      const route = url.searchParams.get("route") || "", reason = url.searchParams.get("reason") || "";
      const items = [...deadLetters.values()].filter((d) => (!route || d.route === route) && (!reason || d.reason === reason))
        .sort((a, b) => (a.id < b.id ? 1 : -1)).map(item);
      return send(res, 200, { kept: deadLetters.size, max: 10000, evicted, items });
    }
    const m = /^dead-letters\/([^/]+)$/.exec(path);
    if (m) {
      const d = deadLetters.get(decodeURIComponent(m[1]));
      if (!d) return send(res, 404, { error: "no such dead letter (replayed or purged?)" });
      return send(res, 200, { ...item(d), payload: d.binary ? null : d.payload,
        ...(d.binary ? { payload_base64: Buffer.from(d.payload, "latin1").toString("base64") } : {}),
        payload_truncated: false, properties: d.properties || [], response_topic: d.response_topic || "",
        correlation_data_hex: d.correlation_data_hex || "" });
    }
    return send(res, 404, { error: `no such endpoint: ${path}` });
  }
  if (req.method !== "POST") return send(res, 405, { error: "method not allowed" });
  let raw = "";
  req.on("data", (c) => { raw += c; });
  req.on("end", () => {
    let body;
    try { body = JSON.parse(raw || "null"); } catch { return send(res, 400, { error: "the body is not JSON" }); }
    if (typeof body !== "object" || body === null) return send(res, 400, { error: "the body must be a JSON object" });
    const given = req.headers["x-routemq-token"];
    const lenient = breakMode === "open-replay" && path.endsWith("/replay");
    if (readOnly) return send(res, 403, { error: "actions are off: DASHBOARD_TOKEN is not set" });
    if (given !== TOKEN && !lenient) {
      return send(res, 403, { error: given ? "wrong dashboard token" : "this action needs the dashboard token (X-RouteMQ-Token)" });
    }
    const m = /^dead-letters\/([^/]+)\/(replay|purge)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (!deadLetters.has(id)) return send(res, 404, { error: "no such dead letter (replayed or purged?)" });
      const d = deadLetters.get(id);
      if (m[2] === "purge") deadLetters.delete(id);
      else if (breakMode !== "keep-replayed") setTimeout(() => deadLetters.delete(id), 800);  // the store drops it a little later
      return send(res, 200, { ok: true, message: m[2] === "replay" ? `published again to ${d.topic}` : `purged ${id}` });
    }
    if (path === "scale") {
      const r = routes.find((x) => x.route === body.route);
      if (!r) return send(res, 404, { error: `no route ${JSON.stringify(body.route)}` });
      if (!Number.isInteger(body.workers) || body.workers < r.min_workers || body.workers > r.max_workers) {
        return send(res, 400, { error: `workers must be between ${r.min_workers} and ${r.max_workers}` });
      }
      r.workers = body.workers;
      return send(res, 200, { ok: true, message: `${r.route} now runs ${r.workers} worker(s)` });
    }
    if (path === "recycle") return send(res, 200, { ok: true, message: "recycling 3 workers, one at a time" });
    if (path === "reload") return send(res, 200, { ok: true, message: "settings reloaded" });
    return send(res, 404, { error: `no such action: ${path}` });
  });
}).listen(port, "127.0.0.1", () => {
  console.log(`mock dashboard on http://127.0.0.1:${port}/ (token ${TOKEN}${breakMode ? `, broken: ${breakMode}` : ""}${readOnly ? ", read-only" : ""})`);
});
