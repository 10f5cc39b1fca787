// Drives Debian's Chromium over the DevTools protocol on a pipe, as drive.js does (no npm
// package, no browser download), on an `ordo matrix --html` page: collects console errors,
// uncaught exceptions and network requests, reads the table, clicks the violation-rate
// header twice and the scenario header once with real mouse events, reads the order after
// each click, saves a screenshot and prints one JSON object.
//
// usage: node matrix.js PAGE.html SCREENSHOT.png [CHROMIUM]
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [page, shot, chromiumArg] = process.argv.slice(2);
const chromium = chromiumArg || process.env.ORDO_CHROMIUM || "/usr/bin/chromium";
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ordo-chromium-"));
const flags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
  "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=1400,900", "about:blank",
];
const child = spawn(chromium, flags, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
child.stderr.on("data", (d) => { stderr += d; });
const toBrowser = child.stdio[3];
const fromBrowser = child.stdio[4];

let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) >= 0) {
    const msg = JSON.parse(buffer.subarray(0, end).toString("utf8"));
    buffer = buffer.subarray(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    } else if (msg.method) {
      listeners.forEach((l) => l(msg));
    }
  }
});
function send(method, params, sessionId) {
  const id = nextId++;
  const msg = { id, method, params: params || {} };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}
function once(method) {
  return new Promise((resolve) => {
    const l = (msg) => { if (msg.method === method) { listeners.splice(listeners.indexOf(l), 1); resolve(msg); } };
    listeners.push(l);
  });
}
function fail(message) {
  process.stdout.write(JSON.stringify({ error: message, stderr: stderr.slice(-2000) }) + "\n");
  try { child.kill("SIGKILL"); } catch (e) { /* already gone */ }
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(1);
}
const timer = setTimeout(() => fail("timed out after 60 s"), 60000);
child.on("error", (e) => fail("cannot start " + chromium + ": " + e.message));

(async () => {
  const errors = [];
  listeners.push((msg) => {
    const p = msg.params || {};
    if (msg.method === "Runtime.exceptionThrown") {
      errors.push("exception: " + JSON.stringify(p.exceptionDetails && (p.exceptionDetails.exception || p.exceptionDetails.text)));
    } else if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert")) {
      errors.push("console." + p.type + ": " + JSON.stringify(p.args));
    } else if (msg.method === "Log.entryAdded" && p.entry && p.entry.level === "error") {
      errors.push("log: " + p.entry.text + " " + (p.entry.url || ""));
    }
  });
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  await s("Runtime.enable");
  await s("Log.enable");
  await s("Page.enable");
  await s("Network.enable");
  const requests = [];
  listeners.push((msg) => {
    if (msg.method === "Network.requestWillBeSent") requests.push(msg.params.request.url);
  });
  const loaded = once("Page.loadEventFired");
  await s("Page.navigate", { url: "file://" + path.resolve(page) });
  await loaded;
  const eval_ = async (expression) => {
    const r = await s("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error("evaluate " + expression + ": " + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  const frame = () => eval_("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))");
  await frame();
  const headers = await eval_("Array.from(document.querySelectorAll('#cells thead th')).map(th => th.textContent)");
  const rows = await eval_("document.querySelectorAll('#cells tbody tr').length");
  const column = headers.indexOf("violation rate %");
  const rates = () => eval_(`Array.from(document.querySelectorAll('#cells tbody tr')).map(r => Number(r.cells[${column}].dataset.v))`);
  const before = await rates();
  // Clicks the header with real mouse events.
  const click = async (index) => {
    const box = await eval_(`(() => { const th = document.querySelectorAll('#cells thead th')[${index}];
      th.scrollIntoView(); const r = th.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await s("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
    }
    await frame();
  };
  await click(column);
  const ascending = await rates();
  const ascClass = await eval_(`document.querySelectorAll('#cells thead th')[${column}].className`);
  await click(column);
  const descending = await rates();
  const scenarioColumn = headers.indexOf("scenario");
  await click(scenarioColumn);
  const scenarios = await eval_(`Array.from(document.querySelectorAll('#cells tbody tr')).map(r => r.cells[${scenarioColumn}].textContent)`);
  const commands = await eval_("Array.from(document.querySelectorAll('code.reproduce')).map(c => c.textContent)");
  const diagrams = await eval_("Array.from(document.querySelectorAll('code.diagram')).map(c => c.textContent)");
  const png = await s("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(shot, Buffer.from(png.data, "base64"));
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ headers, rows, before, ascending, asc_class: ascClass, descending, scenarios, commands, diagrams, requests, errors }) + "\n");
  try { await send("Browser.close"); } catch (e) { /* closing */ }
  setTimeout(() => { try { child.kill("SIGKILL"); } catch (e) { /* gone */ } fs.rmSync(profile, { recursive: true, force: true }); process.exit(0); }, 300);
})().catch((e) => fail(String(e && e.stack || e)));
