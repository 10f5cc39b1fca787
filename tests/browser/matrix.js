// Drives Debian's Chromium (cdp.js) on an `ordo matrix --html` page: collects console
// errors, uncaught exceptions and network requests, reads the table, clicks the
// violation-rate header twice and the scenario header once with real mouse events, reads
// the order after each click, saves a screenshot and prints one JSON object.
//
// usage: node matrix.js PAGE.html SCREENSHOT.png [CHROMIUM]
"use strict";
const { launch } = require("./cdp.js");

const [page, shot, chromiumArg] = process.argv.slice(2);
const browser = launch(chromiumArg);

(async () => {
  const { eval_, frame, click, screenshot, errors, requests } = await browser.open(page, { network: true });
  await frame();
  const headers = await eval_("Array.from(document.querySelectorAll('#cells thead th')).map(th => th.textContent)");
  const rows = await eval_("document.querySelectorAll('#cells tbody tr').length");
  const column = headers.indexOf("violation rate %");
  const rates = () => eval_(`Array.from(document.querySelectorAll('#cells tbody tr')).map(r => Number(r.cells[${column}].dataset.v))`);
  const before = await rates();
  // Clicks the header with real mouse events.
  const clickHeader = async (index) => {
    await click(await eval_(`(() => { const th = document.querySelectorAll('#cells thead th')[${index}];
      th.scrollIntoView(); const r = th.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`));
    await frame();
  };
  await clickHeader(column);
  const ascending = await rates();
  const ascClass = await eval_(`document.querySelectorAll('#cells thead th')[${column}].className`);
  await clickHeader(column);
  const descending = await rates();
  const scenarioColumn = headers.indexOf("scenario");
  await clickHeader(scenarioColumn);
  const scenarios = await eval_(`Array.from(document.querySelectorAll('#cells tbody tr')).map(r => r.cells[${scenarioColumn}].textContent)`);
  const commands = await eval_("Array.from(document.querySelectorAll('code.reproduce')).map(c => c.textContent)");
  const diagrams = await eval_("Array.from(document.querySelectorAll('code.diagram')).map(c => c.textContent)");
  await screenshot(shot);
  await browser.finish({ headers, rows, before, ascending, asc_class: ascClass, descending, scenarios, commands, diagrams, requests, errors });
})().catch((e) => browser.fail(String(e && e.stack || e)));
