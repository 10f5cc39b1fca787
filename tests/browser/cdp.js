// The DevTools-protocol plumbing the browser tests share (drive.js, matrix.js): starts
// Debian's Chromium headless with --remote-debugging-pipe (commands on fd 3, answers on
// fd 4, NUL-separated JSON), with no npm package and no browser download; opens a page in
// a tab that collects console errors, uncaught exceptions and (when asked) network
// requests; clicks with real mouse events; prints the driver's one JSON object and closes.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

function launch(chromiumArg) {
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

  // Opens `page` (a file) in a new tab and waits for its load event.
  async function open(page, { network } = {}) {
    const errors = [];
    const requests = [];
    listeners.push((msg) => {
      const p = msg.params || {};
      if (msg.method === "Runtime.exceptionThrown") {
        errors.push("exception: " + JSON.stringify(p.exceptionDetails && (p.exceptionDetails.exception || p.exceptionDetails.text)));
      } else if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert")) {
        errors.push("console." + p.type + ": " + JSON.stringify(p.args));
      } else if (msg.method === "Log.entryAdded" && p.entry && p.entry.level === "error") {
        errors.push("log: " + p.entry.text + " " + (p.entry.url || ""));
      } else if (msg.method === "Network.requestWillBeSent") {
        requests.push(p.request.url);
      }
    });
    const { targetId } = await send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
    const s = (method, params) => send(method, params, sessionId);
    await s("Runtime.enable");
    await s("Log.enable");
    await s("Page.enable");
    if (network) await s("Network.enable");
    const loaded = once("Page.loadEventFired");
    const started = Date.now();
    await s("Page.navigate", { url: "file://" + path.resolve(page) });
    await loaded;
    const eval_ = async (expression) => {
      const r = await s("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error("evaluate " + expression + ": " + JSON.stringify(r.exceptionDetails));
      return r.result.value;
    };
    return {
      s, eval_, errors, requests, started,
      // Two animation frames: what a click changed is drawn.
      frame: () => eval_("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))"),
      // A real click at the centre of a box { x, y }.
      click: async (box) => {
        for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
          await s("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
        }
      },
      screenshot: async (file) => {
        const png = await s("Page.captureScreenshot", { format: "png" });
        fs.writeFileSync(file, Buffer.from(png.data, "base64"));
      },
    };
  }

  // Prints the driver's result and closes the browser.
  async function finish(result) {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify(result) + "\n");
    try { await send("Browser.close"); } catch (e) { /* closing */ }
    setTimeout(() => { try { child.kill("SIGKILL"); } catch (e) { /* gone */ } fs.rmSync(profile, { recursive: true, force: true }); process.exit(0); }, 300);
  }

  return { open, fail, finish };
}

module.exports = { launch };
