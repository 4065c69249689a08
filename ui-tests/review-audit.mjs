// The clerical review and explanation of a hit, the downloadable rejects, the linkage unit's
// own view, and the audit page with its filters and the disclosure accounting. Run by e2e.mjs
// after the request-and-release steps, so that the audit log has every kind of action to show.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

/** The text of a download the page starts with `click`. */
async function downloaded(page, click) {
  const [dl] = await Promise.all([page.waitForEvent("download"), click()]);
  return { name: dl.suggestedFilename(), text: await readFile(await dl.path(), "utf8") };
}

export async function reviewAndAuditSteps({ step, signedIn, shot, call, PROJECT }) {
  await step("the MX outbox lists the request, answered, with its handling code; approvers may not read it", async () => {
    const page = await signedIn("mx", "analyst");
    await page.getByRole("navigation").getByRole("link", { name: "Requests sent" }).click();
    const row = page.locator("[data-test=outbox] tbody tr[data-status=answered]").first();
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /GT/);
    assert.match(text, /H2/);
    assert.match(text, /smuggling/i);
    await shot(page, "outbox");
    await row.getByRole("link", { name: "See the answer" }).click();
    await page.getByRole("heading", { level: 1, name: "Released data" }).waitFor();
    await page.context().close();
    const approver = await signedIn("gt", "approver");
    assert.equal(await call(approver, "GET", "/api/v1/outbox"), 403);
    await approver.context().close();
  });

  await step("the MX analyst sees why a hit is a hit, as a waterfall of field weights", async () => {
    const page = await signedIn("mx", "analyst");
    await page.getByRole("navigation").getByRole("link", { name: "Hits" }).click();
    const row = page.locator("[data-test=hits] tbody tr").first();
    await row.waitFor();
    await row.getByRole("button", { name: "Explain" }).click();
    const card = page.locator("[data-test=explanation]");
    await card.waitFor();
    const bars = await card.locator("svg.waterfall rect").count();
    assert.ok(bars >= 4, `${bars} bars`);
    const label = await card.locator("svg.waterfall").getAttribute("aria-label");
    assert.match(label, /total [+−]\d+\.\d\d bits against a threshold/);
    await card.getByText("The same as a table").click();
    const steps = await card.locator("tbody th").allTextContents();
    assert.equal(steps[0], "Prior (before any field)");
    assert.ok(steps.includes("Surnames") && steps.includes("Date of birth"), steps.join("|"));
    // The uploads carry event tokens, so the run weighed the records' companions too.
    assert.ok(steps.some((s) => s.startsWith("Companions")), steps.join("|"));
    // The running total of the table ends at the pair's weight, as the verdict states it.
    const last = (await card.locator("tbody tr:last-child td").allTextContents()).at(-1);
    assert.match(await card.getByRole("status").textContent(), new RegExp(`Total \\${last.slice(0, 1)}${last.slice(1).replace(".", "\\.")} bits`));
    await card.scrollIntoViewIfNeeded();
    await shot(page, "explain");
    await page.context().close();
  });

  let reviewed = null;
  await step("the MX analyst reviews a hit: the decision is recorded, sent to the unit and shown", async () => {
    const page = await signedIn("mx", "analyst");
    await page.getByRole("navigation").getByRole("link", { name: "Hits" }).click();
    await page.locator("[data-test=hits] tbody tr").first().waitFor();
    // The uncertain hits when there are any, else any hit.
    await page.getByLabel("Review", { exact: true }).selectOption("todo");
    let rows = page.locator("[data-test=hits] tbody tr");
    if ((await rows.count()) === 0) {
      await page.getByLabel("Review", { exact: true }).selectOption("");
      rows = page.locator("[data-test=hits] tbody tr");
    }
    const row = rows.first();
    reviewed = (await row.locator("td").nth(2).textContent()).trim();
    await row.getByRole("button", { name: "Review" }).click();
    const form = page.locator("[data-test=review-form]");
    await form.getByRole("button", { name: "Record the decision" }).click();
    await form.getByRole("alert").filter({ hasText: "Still missing" }).waitFor();
    await form.getByLabel("unsure").check();
    await form.getByLabel("Reason").fill("Same names, but the dates of birth are a year apart");
    await shot(page, "review");
    await form.getByRole("button", { name: "Record the decision" }).click();
    await form.getByRole("status").filter({ hasText: "sent to the linkage unit" }).waitFor();
    await page.getByLabel("Review", { exact: true }).selectOption("done");
    const done = page.locator("[data-test=hits] tbody tr").filter({ hasText: reviewed });
    await done.locator(".badge.decision-unsure").first().waitFor();
    // Reviews are for analysts only.
    const officer = await signedIn("mx", "officer");
    assert.equal(await call(officer, "POST", "/api/v1/reviews", { project: PROJECT, opaque: "r-0", partner_ref: "r-0", decision: "accept", reason: "x" }), 403);
    await officer.context().close();
    await page.context().close();
  });

  await step("the GT admin downloads an import's rejected rows; other roles may not", async () => {
    const page = await signedIn("gt", "admin");
    const row = page.locator("[data-test=imports] tbody tr").filter({ has: page.getByRole("button", { name: "Download" }) }).first();
    await row.waitFor();
    const { name, text } = await downloaded(page, () => row.getByRole("button", { name: "Download" }).click());
    assert.match(name, /^rejects-.*\.csv$/);
    const lines = text.trim().split("\n");
    assert.equal(lines[0], "line,column,reason,raw");
    const shown = Number((await row.locator("td").nth(6).textContent()).replace(/\D/g, ""));
    assert.ok(lines.length - 1 >= 1 && lines.length - 1 <= shown + 1, `${lines.length - 1} rows, ${shown} shown`);
    await page.context().close();
    for (const role of ["analyst", "approver", "officer"]) {
      const other = await signedIn("gt", role);
      assert.equal(await call(other, "GET", "/api/v1/imports/1/rejects"), 403, role);
      assert.equal(await other.getByRole("button", { name: "Download" }).count(), 0, role);
      await other.context().close();
    }
  });

  await step("the linkage unit's admin sees the projects it runs", async () => {
    const page = await signedIn("lu", "admin");
    const row = page.locator("[data-test=hosted] tbody tr").filter({ hasText: PROJECT });
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /GT, MX, US|GT,\s*MX,\s*US/);
    assert.match(text, /done/);
    await page.context().close();
  });

  await step("the audit page shows each action, filters them and exports the disclosures", async () => {
    const page = await signedIn("mx", "admin");
    await page.getByRole("navigation").getByRole("link", { name: "Audit" }).click();
    await page.locator("[data-test=audit-status]").filter({ hasText: "Chain intact" }).waitFor();
    await page.locator("[data-test=audit] tbody tr").first().waitFor();
    // Every action the tests took at MX, in the log (older pages fetched until all are seen).
    const wanted = ["sign_in", "hit", "request_sent", "release_received", "read_released", "query", "review", "refusal", "graph_read"];
    for (;;) {
      const seen = new Set(await page.locator("[data-test=audit] tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.action)));
      if (wanted.every((a) => seen.has(a))) break;
      const older = page.getByRole("button", { name: "Older entries" });
      assert.ok(await older.count(), `missing: ${wanted.filter((a) => !seen.has(a)).join(", ")}`);
      await older.click();
      await page.waitForTimeout(200);
    }
    await shot(page, "audit");
    await page.getByLabel("Action").selectOption("review");
    await page.locator("[data-test=audit] tbody tr[data-action=review]").first().waitFor();
    const actions = await page.locator("[data-test=audit] tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.action));
    assert.ok(actions.length >= 1 && actions.every((a) => a === "review"), actions.join(","));
    assert.ok((await page.locator("[data-test=audit] tbody tr").first().textContent()).includes("e2e-analyst"));
    await page.getByLabel("Action").selectOption("");
    await page.getByLabel("Actor (person or node)").fill("e2e-officer");
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator("[data-test=audit] tbody tr[data-action=query]").first().waitFor();
    const actors = await page.locator("[data-test=audit] tbody tr td:nth-child(4)").allTextContents();
    assert.ok(actors.every((a) => a === "e2e-officer"), actors.join(","));
    const { text } = await downloaded(page, () => page.getByRole("button", { name: "Disclosure accounting (CSV)" }).click());
    const lines = text.trim().split("\n");
    assert.equal(lines[0], "date,entry,nature,purpose,recipient,subject,details");
    assert.ok(lines.length > 1, "no disclosure at all");
    for (const l of lines.slice(1)) assert.ok(["release", "upload", "hit"].includes(l.split(",")[2]), l);
    await page.getByRole("status").filter({ hasText: "Downloaded" }).waitFor();
    // In Spanish too.
    await page.getByLabel("Language").selectOption("es");
    await page.getByRole("heading", { level: 1, name: "Auditoría" }).waitFor();
    await page.getByLabel("Acción").waitFor();
    await page.context().close();
    for (const role of ["analyst", "officer"]) {
      const other = await signedIn("mx", role);
      assert.equal(await call(other, "GET", "/api/v1/audit"), 403, role);
      assert.equal(await call(other, "GET", "/api/v1/audit/disclosures"), 403, role);
      await other.goto(other.url().split("#")[0] + "#/audit");
      await other.getByRole("alert").filter({ hasText: "may not open this page" }).waitFor();
      await other.context().close();
    }
  });

  await step("the GT approver's audit page shows the decision and each withheld field", async () => {
    const page = await signedIn("gt", "approver");
    await page.getByRole("navigation").getByRole("link", { name: "Audit" }).click();
    await page.getByLabel("Action").selectOption("withheld");
    await page.locator("[data-test=audit] tbody tr[data-action=withheld]").first().waitFor();
    assert.ok((await page.locator("[data-test=audit] tbody tr").count()) >= 2);
    await page.getByLabel("Action").selectOption("decision");
    await page.locator("[data-test=audit] tbody tr[data-action=decision]").first().waitFor();
    // The release to MX is in the disclosure accounting, with its purpose and recipient.
    const { text } = await downloaded(page, () => page.getByRole("button", { name: "Disclosure accounting (CSV)" }).click());
    const releases = text.trim().split("\n").filter((l) => l.split(",")[2] === "release");
    assert.ok(releases.length >= 1, text);
    assert.ok(releases.some((l) => l.includes(",mx,")), releases.join("\n"));
    await page.context().close();
  });
}
