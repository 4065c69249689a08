// Times each page of the web UI for each role (see scripts/bench-ui, which starts the demo and
// passes its output, where the nodes' URLs and accounts are printed, and the runs per page).
// A "full load" reloads the page at its address with the session kept; a "menu move" goes to it
// from the overview through the menu. Both end when the page's data is drawn: its heading shown,
// nothing left loading, and its own marker (a table's first row…) present.

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [demoOut, runsArg] = process.argv.slice(2);
const RUNS = Number(runsArg ?? 7);
const accounts = {};
for (const line of readFileSync(demoOut, "utf8").split("\n")) {
  const m = line.match(/^\s+(https:\/\/\S+)\s+(\S+)\s+(analyst|approver|officer|admin)\s+(\S+)\s*$/);
  if (m) accounts[m[2]] = { url: m[1], role: m[3], password: m[4] };
}

// Page, menu label, and what shows its data is drawn.
const PAGES = {
  overview: ["#/overview", "Overview", "[data-test=imports] tbody tr"],
  hits: ["#/hits", "Hits", "[data-test=hits] tbody tr"],
  released: ["#/released", "Released data", "main h1"],
  inbox: ["#/inbox", "Inbox", "main h1"],
  query: ["#/query", "Border query", "form"],
  audit: ["#/audit", "Audit", "[data-test=audit] tbody tr"],
};
const PLAN = [
  ["mx-analyst", ["overview", "hits", "released"]],
  ["gt-approver", ["overview", "inbox", "audit"]],
  ["mx-officer", ["overview", "query"]],
  ["mx-admin", ["overview", "audit"]],
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});

async function drawn(page, marker) {
  await page.waitForFunction(
    (marker) => {
      const main = document.querySelector("main");
      return main && main.querySelector("h1") && !main.textContent.includes("Loading") && main.querySelector(marker.replace(/^main /, ""));
    },
    marker,
    { timeout: 30000, polling: "raf" },
  );
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const rows = [];
for (const [name, pages] of PLAN) {
  const a = accounts[name];
  if (!a) throw new Error(`no account ${name} in the demo's output`);
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 760 }, locale: "en-US" });
  const page = await context.newPage();
  await page.goto(`${a.url}/#/signin`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(a.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  for (const key of pages) {
    const [hash, label, marker] = PAGES[key];
    const full = [];
    const move = [];
    for (let i = 0; i < RUNS + 1; i++) {
      // Full load: the address of the page, loaded afresh (scripts, catalogues, data).
      await page.goto(`${a.url}/${hash}`);
      let t0 = performance.now();
      await page.reload();
      await drawn(page, marker);
      const f = performance.now() - t0;
      // Menu move: from the overview to the page.
      await page.goto(`${a.url}/#/overview`);
      await drawn(page, PAGES.overview[2]);
      t0 = performance.now();
      if (key === "overview") {
        // Already there: the link would not change the address, so the page is drawn again
        // as a move would draw it.
        await page.evaluate(() => dispatchEvent(new HashChangeEvent("hashchange")));
      } else {
        await page.getByRole("navigation").getByRole("link", { name: label, exact: true }).click();
      }
      await drawn(page, marker);
      const m = performance.now() - t0;
      if (i > 0) {
        // The first round warms the browser's cache and the node's pages.
        full.push(f);
        move.push(m);
      }
    }
    rows.push({ node: name.split("-")[0], role: a.role, page: key, full, move });
  }
  await context.close();
}
await browser.close();

console.log("| node | role | page | full load p50 ms | full load max ms | menu move p50 ms | menu move max ms |");
console.log("|---|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(`| ${r.node} | ${r.role} | ${r.page} | ${pct(r.full, 50).toFixed(0)} | ${Math.max(...r.full).toFixed(0)} | ${pct(r.move, 50).toFixed(0)} | ${Math.max(...r.move).toFixed(0)} |`);
}
const worst = Math.max(...rows.flatMap((r) => [...r.full, ...r.move]));
console.log(`\nslowest of all: ${worst.toFixed(0)} ms (target ≤ 1000 ms)`);
