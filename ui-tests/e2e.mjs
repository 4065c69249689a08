// End-to-end tests of the web UI in headless Chromium (Debian's `chromium`), driven by
// playwright-core, against running Enlace nodes. Started by crates/cli/tests/ui.rs, which
// runs the demo's nodes and passes, in the environment:
//   ENLACE_UI_NODES     {"lu": url, "us": url, "mx": url, "gt": url}
//   ENLACE_UI_PASSWORD  the password of every e2e-<role> account
//   ENLACE_UI_PERSON    a person in the Guatemalan records (for a border query hit)
//   ENLACE_UI_SHOTS     where to save screenshots
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Each step prints `ok - …`; the first failure ends the run with exit status 1.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { reviewAndAuditSteps } from "./review-audit.mjs";
import { explorerSteps } from "./explorer.mjs";

const nodes = JSON.parse(process.env.ENLACE_UI_NODES ?? "{}");
const password = process.env.ENLACE_UI_PASSWORD ?? "";
const person = JSON.parse(process.env.ENLACE_UI_PERSON ?? "{}");
const shots = process.env.ENLACE_UI_SHOTS ?? "out";
const PROJECT = "demo-trilateral";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});
const problems = [];

async function step(name, f) {
  const started = Date.now();
  try {
    await f();
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    console.log(`not ok - ${name}\n${e.stack ?? e}`);
    await browser.close();
    process.exit(1);
  }
}

/** A fresh tab (its own sessionStorage) on a node, English unless told. */
async function open(node, locale = "en-US") {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // the nodes' certificates are self-signed and pinned by peers
    viewport: { width: 1200, height: 760 },
    locale,
  });
  // Generous: CI shares two cores between the browser and four node processes.
  context.setDefaultTimeout(30000);
  const page = await context.newPage();
  page.on("console", (m) => {
    // Refused calls (401/403 on purpose) show as failed loads; anything else is a problem,
    // a content-security-policy violation first of all.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`${node}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${node}: ${e.message}`));
  await page.goto(`${nodes[node]}/`);
  return page;
}

async function signIn(page, user, pw = password) {
  await page.goto(page.url().split("#")[0] + "#/signin");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(pw);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signedIn(node, role) {
  const page = await open(node);
  await signIn(page, `e2e-${role}`);
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** A call with the page's own session, as a script in the page could make it. */
function call(page, method, path, body) {
  return page.evaluate(
    async ([method, path, body]) => {
      const res = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${sessionStorage.getItem("enlace.token")}`, "Content-Type": "application/json" },
        body: body === null ? undefined : JSON.stringify(body),
      });
      return res.status;
    },
    [method, path, body ?? null],
  );
}

await step("the page comes with its security headers", async () => {
  const page = await open("mx");
  const res = await page.goto(`${nodes.mx}/`);
  const headers = res.headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline/);
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.equal(headers["referrer-policy"], "no-referrer");
  await page.context().close();
});

await step("a wrong password is refused with a message", async () => {
  const page = await open("mx");
  await signIn(page, "e2e-analyst", "not-the-password");
  await page.getByRole("alert").filter({ hasText: "Wrong user name or password" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("enlace.token")), null);
  await shot(page, "signin");
  await page.context().close();
});

await step("the sign-in form is reachable by keyboard, with labels and a visible focus", async () => {
  const page = await open("mx");
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const label = el?.labels?.[0]?.textContent ?? el?.textContent ?? "";
      return { label: label.trim(), outline: getComputedStyle(el).outlineStyle };
    });
  await page.getByLabel("User name").waitFor();
  assert.deepEqual(await focused(), { label: "User name", outline: "solid" });
  await page.keyboard.press("Tab");
  assert.equal((await focused()).label, "Password");
  await page.keyboard.press("Tab");
  assert.deepEqual(await focused(), { label: "Sign in", outline: "solid" });
  await page.context().close();
});

const menus = {
  analyst: ["Overview", "Hits", "Requests sent", "Released data", "Network"],
  approver: ["Overview", "Inbox", "Audit"],
  officer: ["Overview", "Requests sent", "Released data", "Border query"],
  admin: ["Overview", "Audit"],
};
for (const [role, items] of Object.entries(menus)) {
  await step(`the ${role} signs in and sees the overview and their menu`, async () => {
    const page = await signedIn("mx", role);
    const menu = await page.getByRole("navigation").getByRole("link").allTextContents();
    assert.deepEqual(menu, items);
    await page.locator("[data-test=me]").filter({ hasText: `e2e-${role}` }).waitFor();
    await page.locator("[data-test=audit-status]").filter({ hasText: "Chain intact" }).waitFor();
    const projects = await page.locator("[data-test=projects] tbody tr").allTextContents();
    assert.ok(projects.some((r) => r.includes(PROJECT)), projects.join("\n"));
    assert.ok((await page.locator("[data-test=imports] tbody tr").count()) >= 1);
    assert.ok(!page.url().includes(await page.evaluate(() => sessionStorage.getItem("enlace.token"))));
    assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes("token")).length), 0);
    if (role === "analyst") await shot(page, "overview");
    await page.context().close();
  });
}

let requested = null;
await step("the MX analyst sees, filters and sorts the hits, and requests details of one", async () => {
  const page = await signedIn("mx", "analyst");
  await page.getByRole("navigation").getByRole("link", { name: "Hits" }).click();
  const rows = page.locator("[data-test=hits] tbody tr");
  await rows.first().waitFor();
  assert.ok((await rows.count()) > 10);
  await page.getByLabel("Partner", { exact: true }).selectOption("gt");
  await page.getByLabel("Band", { exact: true }).selectOption("certain");
  const partners = await page.locator("[data-test=hits] tbody tr td:nth-child(2)").allTextContents();
  assert.ok(partners.length > 0 && partners.every((p) => p === "GT"), partners.join(","));
  const bands = await page.locator("[data-test=hits] tbody tr td:nth-child(4)").allTextContents();
  assert.ok(bands.every((b) => b === "certain"), bands.join(","));
  await page.getByRole("button", { name: /^Our record/ }).click();
  const records = await page.locator("[data-test=hits] tbody tr td:nth-child(1)").allTextContents();
  assert.deepEqual(records, [...records].sort((a, b) => a.localeCompare(b)));
  await shot(page, "hits");
  // The demo already asked about one hit: ask about another, so that the release this test
  // checks is the only one about its reference.
  const asked = await page.evaluate(async () => {
    const res = await fetch("/api/v1/outbox", { headers: { authorization: `Bearer ${sessionStorage.getItem("enlace.token")}` } });
    return (await res.json()).map((s) => s.request.hit.partner_reference);
  });
  assert.ok(asked.length >= 1, "the demo's request is in the outbox");
  const refs = (await rows.locator("td:nth-child(3)").allTextContents()).map((r) => r.trim());
  const pick = refs.findIndex((r) => !asked.includes(r));
  assert.ok(pick >= 0, "a hit not asked about yet");
  const first = rows.nth(pick);
  requested = refs[pick];
  await first.getByRole("button", { name: "Request details" }).click();
  const form = page.locator("[data-test=request-form]");
  await form.getByRole("button", { name: "Send request" }).click();
  await form.getByRole("alert").filter({ hasText: "Still missing" }).waitFor();
  await form.getByLabel("Purpose").fill("Identify the driver of a vehicle intercepted at Tapachula");
  await form.getByLabel("Offence category").selectOption("smuggling_of_migrants");
  await form.getByLabel("Legal basis").fill("Bilateral agreement, art. 4");
  await form.getByLabel("Handling code").selectOption("H2");
  for (const f of ["given names", "surnames", "date of birth", "phones"]) await form.getByLabel(f, { exact: true }).check();
  await shot(page, "request");
  await form.getByRole("button", { name: "Send request" }).click();
  await form.getByRole("status").filter({ hasText: "GT's inbox" }).waitFor();
  await page.context().close();
});

await step("the GT approver sees the policy's limits, ticks fields and confirms", async () => {
  const page = await signedIn("gt", "approver");
  const pending = Number(await page.locator("[data-test=inbox-pending]").textContent());
  assert.ok(pending >= 1);
  await page.getByRole("link", { name: "Inbox", exact: true }).first().click();
  const item = page.locator("[data-test=inbox-item]").filter({ hasText: requested });
  await item.waitFor();
  // The policy withholds phones: its box is disabled, with the reason shown.
  const phones = item.getByLabel("phones", { exact: true });
  assert.equal(await phones.isDisabled(), true);
  assert.equal(await phones.isChecked(), false);
  await item.getByText("no contact data").first().waitFor();
  // The approver releases less than the policy allows: not the date of birth.
  assert.equal(await item.getByLabel("given names", { exact: true }).isChecked(), true);
  await item.getByLabel("date of birth", { exact: true }).uncheck();
  await shot(page, "inbox");
  await item.getByRole("button", { name: "Confirm the match and release" }).click();
  await item.getByRole("status").filter({ hasText: "Confirmed" }).waitFor();
  const said = await item.getByRole("status").textContent();
  assert.match(said, /Released: given names, surnames\./);
  assert.match(said, /phones/);
  await page.context().close();
});

await step("MX sees the release with its handling code, and never the denied fields", async () => {
  const page = await signedIn("mx", "analyst");
  await page.getByRole("navigation").getByRole("link", { name: "Released data" }).click();
  const item = page.locator("[data-test=released-item]").filter({ hasText: requested });
  await item.waitFor();
  await item.locator("[data-test=handling]").filter({ hasText: "H2" }).waitFor();
  const released = await item.locator("[data-test=released-values] tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.field));
  assert.deepEqual(released.sort(), ["given_names", "surnames"]);
  const withheld = await item.locator("[data-test=withheld] tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.field));
  assert.deepEqual(withheld.sort(), ["birth_date", "phones"]);
  const values = await item.locator("[data-test=released-values] td").allTextContents();
  assert.ok(values.every((v) => v.trim() && v !== "—"), values.join("|"));
  // Nothing in the page looks like a phone number or a date of birth.
  const text = await item.textContent();
  assert.doesNotMatch(text, /\+502\d{8}/);
  await shot(page, "released");
  await page.context().close();
});

await step("the MX officer's border query answers hit, then no hit", async () => {
  const page = await signedIn("mx", "officer");
  await page.getByRole("navigation").getByRole("link", { name: "Border query" }).click();
  await page.getByLabel("Given names").fill(person.given);
  await page.getByLabel("First surname").fill(person.surname1);
  await page.getByLabel("Second surname").fill(person.surname2 ?? "");
  await page.getByLabel("Date of birth").fill(person.birth_date ?? "");
  if (person.sex) await page.getByLabel("Sex").selectOption(person.sex);
  await page.getByRole("button", { name: "Check" }).click();
  const hit = page.locator("[data-test=hit]");
  await hit.waitFor({ timeout: 15000 });
  assert.match(await hit.textContent(), /HIT: \d+ record/);
  assert.ok(await page.locator("[data-test=query-result] table tbody tr").filter({ hasText: "GT" }).count() >= 1);
  await shot(page, "query");
  await page.getByLabel("Given names").fill("Zacarías Eustaquio");
  await page.getByLabel("First surname").fill("Xochiquetzal");
  await page.getByLabel("Second surname").fill("Quauhtli");
  await page.getByLabel("Date of birth").fill("1911-11-11");
  await page.getByRole("button", { name: "Check" }).click();
  await page.locator("[data-test=no-hit]").waitFor({ timeout: 15000 });
  await page.context().close();
});

await step("every page switches to Spanish, and the choice stays", async () => {
  const page = await signedIn("mx", "officer");
  await page.getByLabel("Language").selectOption("es");
  await page.getByRole("heading", { level: 1, name: "Resumen" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
  await page.getByRole("navigation").getByRole("link", { name: "Consulta fronteriza" }).click();
  await page.getByLabel("Primer apellido").waitFor();
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Consulta fronteriza" }).waitFor();
  await page.getByRole("button", { name: "Cerrar sesión" }).waitFor();
  await shot(page, "query-es");
  await page.getByRole("navigation").getByRole("link", { name: "Resumen" }).click();
  await page.locator("[data-test=audit-status]").filter({ hasText: "Cadena íntegra" }).waitFor();
  await page.context().close();
});

await step("a role is refused what it may not do, in the page and at the server", async () => {
  const officer = await signedIn("mx", "officer");
  await officer.goto(officer.url().split("#")[0] + "#/inbox");
  await officer.getByRole("alert").filter({ hasText: "may not open this page" }).waitFor();
  assert.equal(await call(officer, "GET", "/api/v1/inbox"), 403);
  assert.equal(await call(officer, "GET", `/api/v1/hits?project=${PROJECT}`), 403);
  await officer.context().close();
  const analyst = await signedIn("mx", "analyst");
  assert.equal(await call(analyst, "POST", "/api/v1/query", { project: PROJECT, person: { given: "A", surname1: "B" } }), 403);
  assert.equal(await call(analyst, "POST", "/api/v1/inbox/x/decision", { outcome: "reject", reason: "no" }), 403);
  await analyst.context().close();
  const approver = await signedIn("gt", "approver");
  const request = {
    peer: "mx", hit: { project: PROJECT, partner_reference: "x" }, purpose: "p", offence: "kidnapping",
    legal_basis: "b", handling: "H0", fields: ["surnames"],
  };
  assert.equal(await call(approver, "POST", "/api/v1/outbox", request), 403);
  assert.equal(await call(approver, "GET", "/api/v1/released"), 403);
  await approver.context().close();
  const admin = await signedIn("gt", "admin");
  assert.equal(await call(admin, "GET", `/api/v1/hits?project=${PROJECT}`), 403);
  await admin.context().close();
});

await explorerSteps({ step, signedIn, shot, call, nodes });
await reviewAndAuditSteps({ step, signedIn, shot, call, PROJECT });

await step("no script error and no content-security-policy violation on any page", async () => {
  assert.deepEqual(problems, []);
});

await browser.close();
console.log("all UI tests passed");
