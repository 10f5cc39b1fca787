// Drives Debian's Chromium (cdp.js) on an `ordo diagram` HTML page: collects console
// errors and uncaught exceptions, reads the lanes, clicks violation N with real mouse
// events, reads the highlighted witness lines, saves a screenshot (SCREENSHOT.png; and,
// after unticking "only the selected chain" when the click ticked it,
// SCREENSHOT-whole.png), and prints one JSON object.
//
// usage: node drive.js PAGE.html SCREENSHOT.png N [CHROMIUM]
"use strict";
const { launch } = require("./cdp.js");

const [page, shot, nText, chromiumArg] = process.argv.slice(2);
const n = Number(nText || "1");
const browser = launch(chromiumArg);

(async () => {
  const { eval_, frame, click, screenshot, errors, started } = await browser.open(page);
  await eval_("new Promise(r => requestAnimationFrame(() => r(1)))");
  const loadMs = Date.now() - started;
  const lanes = await eval_("Array.from(document.querySelectorAll('#lanes .lane')).map(e => e.dataset.node)");
  const records = await eval_("window.ordoViewer.records()");
  const box = await eval_(`(() => { const b = document.querySelector('button.viol[data-n="${n}"]');
    if (!b) return null; b.scrollIntoView(); const r = b.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
  if (!box) browser.fail("no violation button " + n);
  await click(box);
  await frame();
  const highlighted = await eval_("Array.from(document.querySelectorAll('#view g.rec.wit')).map(g => Number(g.dataset.line))");
  const active = await eval_("Array.from(document.querySelectorAll('button.viol.active')).map(b => Number(b.dataset.n))");
  const focus = await eval_("document.getElementById('view').classList.contains('focus')");
  const story = await eval_("document.getElementById('story').textContent");
  // If the chain was shown alone, untick "only the selected chain": the whole history
  // comes back, faded, with the witness still highlighted.
  await screenshot(shot);
  const chainOnly = await eval_("document.getElementById('chain-only').checked");
  let highlightedInWhole = highlighted;
  if (chainOnly) {
    await click(await eval_(`(() => { const r = document.getElementById('chain-only').getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`));
    await frame();
    highlightedInWhole = await eval_("Array.from(document.querySelectorAll('#view g.rec.wit')).map(g => Number(g.dataset.line))");
  }
  const wholeCount = await eval_("document.getElementById('count').textContent");
  await screenshot(shot.replace(/\.png$/, "") + "-whole.png");
  await browser.finish({ lanes, records, highlighted, chain_only: chainOnly, highlighted_in_whole: highlightedInWhole, whole_count: wholeCount, active, focus, story, errors, load_ms: loadMs });
})().catch((e) => browser.fail(String(e && e.stack || e)));
