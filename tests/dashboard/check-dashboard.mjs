// Drives the operator dashboard (core/src/http/dashboard.html) in headless Chromium and checks
// what a person would see, against a running app (or tests/dashboard/mock-server.mjs):
//   node check-dashboard.mjs --url http://127.0.0.1:PORT/ --token TOKEN --screenshot OUT.png [--route ROUTE]
// a. the page loads without console errors, failed requests or requests to another origin;
// b. the processes table shows a row with a numeric pid and a state, and some worker's
//    `handled` rises between refreshes (the caller floods messages meanwhile);
// c. the routes table has a row for ROUTE (default: the first) with a nonzero in/s within ~15 s;
// d. that route's plot (svg.plot) is drawn from live data: data-points >= 2, data-max > 0;
// e. a dead letter's Replay without a token is refused (403) with the server's error shown and
//    the entry kept; with the token entered in the page it succeeds and the entry goes;
// f. the token never appears in the page (DOM text, attributes, non-password fields);
// g. a full-page screenshot is saved to OUT.png (also when a check failed).
// Exits 0 when all hold, else prints what failed and exits 1. CHROMIUM overrides /usr/bin/chromium.
import { createRequire } from "node:module";

const require = createRequire(new URL("../deploy/package.json", import.meta.url));
const puppeteer = require("puppeteer-core");

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(url|token|screenshot|route)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unknown argument ${argv[i]}`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
    if (out[m[1]] === undefined) throw new Error(`--${m[1]} needs a value`);
  }
  for (const k of ["url", "token", "screenshot"]) if (!out[k]) throw new Error(`--${k} is required`);
  return out;
}
let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`${e.message}\nusage: node check-dashboard.mjs --url URL --token TOKEN --screenshot OUT.png [--route ROUTE]`);
  process.exit(2);
}
const origin = new URL(args.url).origin;
const failures = [];
const fail = (what) => { failures.push(what); console.log(`FAIL ${what}`); };
const pass = (what) => console.log(`ok   ${what}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const overall = setTimeout(() => {
  console.log("FAIL the check did not finish within 150 s");
  process.exit(1);
}, 150_000);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
  defaultViewport: { width: 1280, height: 900 },
  timeout: 60_000,
});
const page = await browser.newPage();
page.setDefaultTimeout(15_000);
page.on("dialog", (d) => {  // confirm() before an action is fine; an alert or prompt is not
  if (d.type() !== "confirm") fail(`a. unexpected ${d.type()} dialog: ${d.message()}`);
  d.accept();
});

// a. every request stays on the origin; errors are collected for the whole run.
let refusalExpected = false;
await page.setRequestInterception(true);
page.on("request", (req) => {
  const u = req.url();
  if (/^(data|blob|about):/.test(u)) return req.continue();
  let o = "";
  try { o = new URL(u).origin; } catch { /* not a URL */ }
  if (o !== origin) {
    fail(`a. request to another origin: ${req.method()} ${u}`);
    return req.abort("blockedbyclient");
  }
  return req.continue();
});
page.on("requestfailed", (req) => {
  if (new URL(req.url(), origin).origin !== origin) return;  // already reported above
  fail(`a. request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText})`);
});
page.on("response", (res) => {
  if (res.status() >= 500) fail(`a. ${res.request().method()} ${res.url()} answered ${res.status()}`);
});
page.on("pageerror", (err) => fail(`a. uncaught error in the page: ${err.message}`));
page.on("console", (msg) => {
  if (msg.type() !== "error") return;
  const where = msg.location()?.url || "";
  // The browser logs the refused replay (403) as a failed resource load: that one is expected.
  if (refusalExpected && / 403 /.test(msg.text()) && /\/replay$/.test(where)) return;
  fail(`a. console error: ${msg.text()}${where ? ` (${where})` : ""}`);
});

// Whether the token shows anywhere: text, markup (attributes included), or a field that is not a password field.
async function tokenShown() {
  return page.evaluate((t) => {
    const places = [];
    if (document.body.innerText.includes(t)) places.push("visible text");
    if (document.documentElement.outerHTML.includes(t)) places.push("markup");
    if (document.title.includes(t)) places.push("title");
    for (const f of document.querySelectorAll("input, textarea, select")) {
      if (f.type !== "password" && String(f.value).includes(t)) places.push(`field ${f.id || f.name || f.tagName}`);
    }
    return places;
  }, args.token);
}
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(`${name}: ${e.message.split("\n")[0]}`);
  }
}
const processRows = () => page.$$eval("#processes tbody tr", (trs) => trs.map((tr) => ({
  process: tr.dataset.process || tr.cells[0]?.textContent || "",
  pid: tr.querySelector("td.pid")?.textContent.trim() || "",
  state: tr.querySelector("td.state")?.textContent.trim() || "",
  handled: Number((tr.querySelector("td.handled")?.textContent || "").replace(/[^0-9]/g, "") || NaN),
})));

await step("a. page loads", async () => {
  const res = await page.goto(args.url, { waitUntil: "load", timeout: 30_000 });
  if (!res || !res.ok()) throw new Error(`GET ${args.url} answered ${res && res.status()}`);
  await page.waitForFunction(() => document.querySelector("#live")?.dataset.state === "live");
  pass(`a. page loaded from ${args.url}, live`);
});

await step("b. processes", async () => {
  await page.waitForFunction(() => [...document.querySelectorAll("#processes tbody tr")]
    .some((tr) => /^\d+$/.test(tr.querySelector("td.pid")?.textContent.trim() || "") && tr.querySelector("td.state")?.textContent.trim()))
    .catch(() => { throw new Error("no row in #processes with a numeric td.pid and a td.state within 15 s"); });
  const first = await processRows();
  const running = first.filter((r) => /^\d+$/.test(r.pid) && r.state);
  pass(`b. ${first.length} process rows, ${running.length} with a pid and a state (e.g. ${running[0].process} pid ${running[0].pid} ${running[0].state})`);
  const before = Object.fromEntries(first.map((r) => [r.process, r.handled]));
  await page.waitForFunction((b) => [...document.querySelectorAll("#processes tbody tr")].some((tr) => {
    const n = Number((tr.querySelector("td.handled")?.textContent || "").replace(/[^0-9]/g, "") || NaN);
    const was = b[tr.dataset.process || tr.cells[0]?.textContent || ""];
    return Number.isFinite(n) && Number.isFinite(was) && n > was;
  }), { timeout: 15_000, polling: 250 }, before)
    .catch(() => { throw new Error(`no worker's td.handled rose within 15 s (was ${JSON.stringify(before)})`); });
  const after = await processRows();
  const risen = after.find((r) => r.handled > before[r.process]);
  pass(`b. handled rises: ${risen.process} ${before[risen.process]} -> ${risen.handled}`);
});

let route = args.route;
await step("c. routes", async () => {
  if (!route) {
    await page.waitForSelector("#routes tbody tr[data-route]");
    route = await page.$eval("#routes tbody tr[data-route]", (tr) => tr.dataset.route);
  }
  await page.waitForFunction((r) => [...document.querySelectorAll("#routes tbody tr")].some((tr) => tr.dataset.route === r), {}, route)
    .catch(() => { throw new Error(`no row for route ${route} in #routes`); });
  const rate = await page.waitForFunction((r) => {
    const tr = [...document.querySelectorAll("#routes tbody tr")].find((x) => x.dataset.route === r);
    const v = Number((tr?.querySelector("td.in")?.textContent || "").replace(/,/g, ""));
    return v > 0 ? v : false;
  }, { timeout: 15_000, polling: 250 }, route).then((h) => h.jsonValue())
    .catch(() => { throw new Error(`in/s of ${route} stayed 0 or empty for 15 s`); });
  pass(`c. route ${route}: in/s ${rate}`);
});

await step("d. plot", async () => {
  const got = await page.waitForFunction((r) => {
    const svg = [...document.querySelectorAll("svg.plot")].find((s) => s.dataset.route === r);
    if (!svg) return false;
    const points = Number(svg.dataset.points), max = Number(svg.dataset.max);
    const drawn = svg.querySelector("polyline")?.getAttribute("points")?.trim().split(/\s+/).length || 0;
    return points >= 2 && max > 0 && drawn >= 2 ? { points, max, drawn } : false;
  }, { timeout: 15_000, polling: 250 }, route).then((h) => h.jsonValue())
    .catch(() => { throw new Error(`svg.plot[data-route="${route}"] never had data-points >= 2 and data-max > 0`); });
  pass(`d. plot of ${route}: ${got.points} samples, max ${got.max}`);
});

const replayButton = (id) => page.evaluateHandle((i) =>
  [...document.querySelectorAll("#dead-letters tbody tr[data-id]")].find((tr) => tr.dataset.id === i)?.querySelector("button.replay"), id);
const rowPresent = (id) => page.evaluate((i) =>
  [...document.querySelectorAll("#dead-letters tbody tr[data-id]")].some((tr) => tr.dataset.id === i), id);
async function statusShows(text, kind) {
  await page.waitForFunction((t, k) => {
    const s = document.querySelector("#status");
    if (!s || !s.innerText.includes(t) || (k && s.dataset.kind !== k)) return false;
    const r = s.getBoundingClientRect(), st = getComputedStyle(s);
    return r.width > 0 && r.height > 0 && st.visibility !== "hidden" && st.display !== "none" && Number(st.opacity) > 0.1;
  }, { timeout: 5_000 }, text, kind).catch(() => { throw new Error(`#status did not visibly show "${text}"`); });
}
// Clicks Replay of dead letter `id` and returns the request and the server's answer.
async function clickReplay(id) {
  const button = await replayButton(id);
  if (!button.asElement()) throw new Error(`no button.replay for dead letter ${id}`);
  const answer = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/replay`), { timeout: 10_000 });
  await button.asElement().click();
  const res = await answer;
  let body = null;
  try { body = await res.json(); } catch { /* checked below */ }
  return { res, body, sent: res.request().headers()["x-routemq-token"] };
}

await step("e/f. dead letters", async () => {
  await page.waitForSelector("#dead-letters tbody tr[data-id] button.replay", { visible: true })
    .catch(() => { throw new Error("no dead letter with a visible Replay button in #dead-letters"); });
  const id = await page.$eval("#dead-letters tbody tr[data-id]", (tr) => tr.dataset.id);
  const count = await page.$$eval("#dead-letters tbody tr[data-id]", (trs) => trs.length);
  pass(`e. ${count} dead letters listed, replaying ${id}`);

  refusalExpected = true;
  const refused = await clickReplay(id);
  if (refused.sent) throw new Error("the first replay sent a token though none was entered");
  if (refused.res.status() !== 403) throw new Error(`replay without a token answered ${refused.res.status()}, not 403`);
  if (!refused.body || typeof refused.body.error !== "string" || !refused.body.error) throw new Error("the 403 had no {\"error\": ...} body");
  await statusShows(refused.body.error, "error");
  pass(`e. replay without a token refused, shown: "${refused.body.error}"`);
  // the page lists the dead letters again after an action: the entry must still be there
  await page.waitForResponse((r) => r.request().method() === "GET" && /\/api\/dead-letters(\?|$)/.test(r.url()), { timeout: 10_000 });
  await sleep(2_000);
  refusalExpected = false;
  if (!(await rowPresent(id))) throw new Error(`dead letter ${id} left the list though its replay was refused`);
  pass("e. the refused entry stays");

  const field = await page.$("#token");
  if (!field) throw new Error("no #token field");
  const type = await field.evaluate((f) => f.type);
  if (type !== "password") throw new Error(`#token is an <input type=${type}>, not a password field`);
  await field.type(args.token);
  await page.click("#use-token");
  await sleep(300);
  const shown = await tokenShown();
  if (shown.length) fail(`f. the token shows in the page after entering it: ${shown.join(", ")}`);
  else pass("f. token entered, not shown anywhere in the page");

  await page.waitForFunction((i) => !![...document.querySelectorAll("#dead-letters tbody tr[data-id]")]
    .find((tr) => tr.dataset.id === i)?.querySelector("button.replay:not([disabled])"), {}, id)
    .catch(() => { throw new Error("the Replay button stayed disabled after the refusal"); });
  const done = await clickReplay(id);
  if (done.sent !== args.token) throw new Error("the second replay did not send the entered token as X-RouteMQ-Token");
  if (done.res.status() !== 200 || !done.body || done.body.ok !== true) {
    throw new Error(`replay with the token answered ${done.res.status()} ${JSON.stringify(done.body)}`);
  }
  if (done.body.message) await statusShows(done.body.message, "ok");
  await page.waitForFunction((i) => ![...document.querySelectorAll("#dead-letters tbody tr[data-id]")].some((tr) => tr.dataset.id === i),
    { timeout: 10_000, polling: 250 }, id).catch(() => { throw new Error(`dead letter ${id} still listed 10 s after its replay`); });
  pass(`e. replay with the token: "${done.body.message}", entry gone`);
});

refusalExpected = false;
await step("g. screenshot", async () => {
  await sleep(2_500);  // one more refresh so that the picture shows flowing data
  const shown = await tokenShown();
  if (shown.length) fail(`f. the token shows in the page at the end: ${shown.join(", ")}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: args.screenshot, fullPage: true });
  pass(`g. screenshot saved to ${args.screenshot}`);
});

await browser.close();
clearTimeout(overall);
if (failures.length) {
  console.log(`\ndashboard check failed (${failures.length}):\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  process.exit(1);
}
console.log("\ndashboard check passed");
