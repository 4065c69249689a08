// Measures the network explorer in headless Chromium (a measurement, not a test):
//   * page load: from opening #/explorer (signed in) to the largest community drawn;
//   * frames per second during 3 s of programmatic pan and zoom, on the demo's largest
//     community and on a synthetic graph of 5,000 nodes drawn through the same page.
// It runs `enlace demo` (nodes kept up) in a temporary directory and stops it at the end.
//
//   ENLACE_BIN=target/release/enlace node ui-tests/bench-explorer.mjs [people]
//
// CHROMIUM names the browser (default /usr/bin/chromium). ENLACE_UI_DIR=crates/node/ui serves
// the page's files from that directory instead of the binary's (to try a change unbuilt).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.ENLACE_BIN ?? "target/release/enlace";
const people = process.argv[2] ?? "5000";
const dir = mkdtempSync(join(tmpdir(), "enlace-bench-"));

/** Starts the demo and waits for its list of URLs and accounts. */
function demo() {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["demo", "--people", people, "--dir", join(dir, "demo")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/(https:\/\/\S+)\s+mx-analyst\s+analyst\s+(\S+)/);
      if (m) resolve({ child, url: m[1], password: m[2], out });
    });
    child.on("exit", (code) => reject(new Error(`demo exited (${code}):\n${out}`)));
  });
}

/** A synthetic network: clusters of 100 nodes, two ties per node inside, a few across. */
function synthetic(n) {
  const kinds = ["person", "person", "person", "phone", "vehicle", "address", "encounter", "crossing"];
  const countries = ["US", "MX", "GT"];
  const nodes = [];
  const edges = [];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const t0 = 1_600_000_000;
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    nodes.push({
      id: `${kind}:${i}`, label: null, kind, country: countries[i % 3], community: Math.floor(i / 100),
      score: rand(), betweenness: null, time: kind === "encounter" || kind === "crossing" ? t0 + Math.floor(rand() * 3e7) : null,
      handling: null, distance: null,
    });
  }
  for (let i = 0; i < n; i++) {
    const base = Math.floor(i / 100) * 100;
    for (let k = 0; k < 2; k++) {
      const j = base + Math.floor(rand() * 100);
      if (j !== i && j < n) edges.push({ source: nodes[i].id, target: nodes[j].id, kind: "used", time: t0 + Math.floor(rand() * 3e7), handling: null });
    }
    if (rand() < 0.05) {
      const j = Math.floor(rand() * n);
      if (j !== i) edges.push({ source: nodes[i].id, target: nodes[j].id, kind: "associated", time: null, handling: null });
    }
  }
  return { nodes, edges, total_nodes: n, total_edges: edges.length, truncated: false };
}

/** Frames drawn during `ms` of pan and zoom driven from requestAnimationFrame. */
function fps(page, ms = 3000) {
  return page.evaluate(async (ms) => {
    const cy = window.enlaceExplorer.cy;
    const zoom0 = cy.zoom();
    let frames = 0;
    const start = performance.now();
    await new Promise((resolve) => {
      function frame(now) {
        frames += 1;
        const t = (now - start) / 1000;
        cy.panBy({ x: 4 * Math.cos(t * 2), y: 4 * Math.sin(t * 2) });
        cy.zoom({ level: zoom0 * (1 + 0.4 * Math.sin(t * 3)), renderedPosition: { x: 400, y: 270 } });
        if (now - start < ms) requestAnimationFrame(frame);
        else resolve();
      }
      requestAnimationFrame(frame);
    });
    return (frames * 1000) / (performance.now() - start);
  }, ms);
}

const { child, url, password } = await demo();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  if (process.env.ENLACE_UI_DIR) {
    await page.route(/\/ui\/.+\.(js|css|json)$/, (route) => {
      const name = new URL(route.request().url()).pathname.slice("/ui/".length);
      const type = name.endsWith(".css") ? "text/css" : name.endsWith(".json") ? "application/json" : "text/javascript";
      route.fulfill({ body: readFileSync(join(process.env.ENLACE_UI_DIR, name)), contentType: type });
    });
  }
  await page.goto(`${url}/#/signin`);
  await page.getByLabel("User name").fill("mx-analyst");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  // Page load: a fresh document on #/explorer (library not cached in memory) to a drawn graph.
  const loads = [];
  for (let i = 0; i < 3; i++) {
    await page.goto(`${url}/#/explorer`);
    await page.reload();
    await page.waitForFunction(() => window.enlaceExplorer?.state.drawnAt > 0, null, { timeout: 60000 });
    loads.push(await page.evaluate(() => window.enlaceExplorer.state.drawnAt));
  }
  const real = await page.evaluate(() => ({ nodes: window.enlaceExplorer.cy.nodes().length, edges: window.enlaceExplorer.cy.edges().length }));
  const realFps = await fps(page);
  const view = synthetic(5000);
  const draw = await page.evaluate(async (view) => {
    await window.enlaceExplorer.show(view, "synthetic");
    return window.enlaceExplorer.state.drawMs;
  }, view);
  const big = await page.evaluate(() => ({ nodes: window.enlaceExplorer.cy.nodes().length, edges: window.enlaceExplorer.cy.edges().length }));
  const bigFps = await fps(page);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`demo people: ${people}`);
  console.log(`page load to first drawn graph (largest community, ${real.nodes} nodes, ${real.edges} edges): median ${median(loads).toFixed(0)} ms of ${loads.map((x) => x.toFixed(0)).join(", ")}`);
  console.log(`pan/zoom on that community: ${realFps.toFixed(1)} fps`);
  console.log(`synthetic graph ${big.nodes} nodes, ${big.edges} edges: drawn in ${draw.toFixed(0)} ms; pan/zoom ${bigFps.toFixed(1)} fps`);
} finally {
  await browser.close();
  child.kill("SIGINT");
  await new Promise((r) => child.on("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
