// Drives Debian's Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
// commands on fd 3, answers on fd 4, NUL-separated JSON), with no npm package and no
// browser download. Opens an `ordo diagram` HTML page, collects console errors and
// uncaught exceptions, reads the lanes, clicks violation N with real mouse events, reads
// the highlighted witness lines, saves a screenshot (SCREENSHOT.png; and, after unticking
// "only the selected chain" when the click ticked it, SCREENSHOT-whole.png), and prints
// one JSON object.
//
// usage: node drive.js PAGE.html SCREENSHOT.png N [CHROMIUM]
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [page, shot, nText, chromiumArg] = process.argv.slice(2);
const chromium = chromiumArg || process.env.ORDO_CHROMIUM || "/usr/bin/chromium";
const n = Number(nText || "1");
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
  const loaded = once("Page.loadEventFired");
  const started = Date.now();
  await s("Page.navigate", { url: "file://" + path.resolve(page) });
  await loaded;
  const eval_ = async (expression) => {
    const r = await s("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error("evaluate " + expression + ": " + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  await eval_("new Promise(r => requestAnimationFrame(() => r(1)))");
  const loadMs = Date.now() - started;
  const lanes = await eval_("Array.from(document.querySelectorAll('#lanes .lane')).map(e => e.dataset.node)");
  const records = await eval_("window.ordoViewer.records()");
  const box = await eval_(`(() => { const b = document.querySelector('button.viol[data-n="${n}"]');
    if (!b) return null; b.scrollIntoView(); const r = b.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
  if (!box) fail("no violation button " + n);
  for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
    await s("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
  await eval_("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))");
  const highlighted = await eval_("Array.from(document.querySelectorAll('#view g.rec.wit')).map(g => Number(g.dataset.line))");
  const active = await eval_("Array.from(document.querySelectorAll('button.viol.active')).map(b => Number(b.dataset.n))");
  const focus = await eval_("document.getElementById('view').classList.contains('focus')");
  const story = await eval_("document.getElementById('story').textContent");
  // If the chain was shown alone, untick "only the selected chain": the whole history
  // comes back, faded, with the witness still highlighted.
  const first = await s("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(shot, Buffer.from(first.data, "base64"));
  const chainOnly = await eval_("document.getElementById('chain-only').checked");
  let wholeCount = null, highlightedInWhole = highlighted;
  if (chainOnly) {
    const cb = await eval_(`(() => { const r = document.getElementById('chain-only').getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await s("Input.dispatchMouseEvent", { type, x: cb.x, y: cb.y, button: "left", clickCount: 1 });
    }
    await eval_("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))");
    highlightedInWhole = await eval_("Array.from(document.querySelectorAll('#view g.rec.wit')).map(g => Number(g.dataset.line))");
  }
  wholeCount = await eval_("document.getElementById('count').textContent");
  const png = await s("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(shot.replace(/\.png$/, "") + "-whole.png", Buffer.from(png.data, "base64"));
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ lanes, records, highlighted, chain_only: chainOnly, highlighted_in_whole: highlightedInWhole, whole_count: wholeCount, active, focus, story, errors, load_ms: loadMs }) + "\n");
  try { await send("Browser.close"); } catch (e) { /* closing */ }
  setTimeout(() => { try { child.kill("SIGKILL"); } catch (e) { /* gone */ } fs.rmSync(profile, { recursive: true, force: true }); process.exit(0); }, 300);
})().catch((e) => fail(String(e && e.stack || e)));
