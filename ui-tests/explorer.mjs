// The network explorer's browser steps, called from e2e.mjs with its helpers: the MX analyst
// opens the explorer, opens the largest community, sees it drawn, changes the colouring,
// expands a node, finds a path between two members, moves the time slider, downloads GraphML
// and switches to Spanish. `window.enlaceExplorer` is the page's handle on the graph.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

export async function explorerSteps({ step, signedIn, shot, call }) {
  await step("the MX analyst explores the network: community, colours, expand, path, time, exports", async () => {
    const page = await signedIn("mx", "analyst");
    await page.getByRole("navigation").getByRole("link", { name: "Network" }).click();
    await page.getByRole("heading", { level: 1, name: "Network explorer" }).waitFor();
    const rows = page.locator("[data-test=communities] tbody tr");
    assert.ok((await rows.count()) >= 2);
    // The largest community comes first; open it (the page opened it already: reopen).
    const id = await rows.first().getAttribute("data-community");
    await rows.first().getByRole("button", { name: "Open" }).click();
    await page.waitForFunction((c) => window.enlaceExplorer?.state.community === Number(c) && window.enlaceExplorer.cy?.nodes().length > 0, id);
    const count = await page.evaluate(() => window.enlaceExplorer.cy.nodes().length);
    assert.ok(count > 0, `${count} nodes drawn`);
    const canvas = page.getByRole("img", { name: /Network graph of \d+ nodes/ });
    await canvas.waitFor();
    assert.match(await page.locator("[data-test=explorer-desc]").textContent(), /Showing \d+ nodes/);

    // Colour by type: persons and phones no longer share the country's colour.
    const colours = () => page.evaluate(() => new Set(window.enlaceExplorer.cy.nodes().map((n) => n.data("color"))).size);
    await page.getByLabel("Colour by").selectOption("kind");
    const byKind = await page.evaluate(() => {
      const cy = window.enlaceExplorer.cy;
      const person = cy.nodes('[kind = "person"]').first().data("color");
      return { person, same: cy.nodes('[kind = "person"]').every((n) => n.data("color") === person) };
    });
    assert.equal(byKind.same, true);
    assert.equal(byKind.person, "#0b4f8a");
    await page.getByLabel("Colour by").selectOption("community");
    assert.equal(await colours(), 1, "one community, one colour");

    // Expand a node on the community's edge: its ego network adds what lies outside.
    const before = count;
    const added = await page.evaluate(async () => {
      const cy = window.enlaceExplorer.cy;
      // A node with the most neighbours is most likely to reach beyond the community.
      let best = 0;
      for (const n of cy.nodes().toArray().slice(0, 40)) {
        const more = await window.enlaceExplorer.expand(n.id());
        best += more;
        if (best > 0) break;
      }
      return best;
    });
    const after = await page.evaluate(() => window.enlaceExplorer.cy.nodes().length);
    assert.equal(after, before + added);
    await page.locator("[data-test=explorer-status]").filter({ hasText: /Added \d+ neighbouring nodes/ }).waitFor();

    // Select a node through the page, then expand it with the button (the keyboard's way).
    await page.evaluate(() => window.enlaceExplorer.cy.nodes().first().emit("tap"));
    await page.locator("[data-test=node-details] dl").waitFor();
    await page.getByRole("button", { name: "Expand selected node" }).click();
    await page.locator("[data-test=explorer-status]").filter({ hasText: /Added \d+ neighbouring nodes/ }).waitFor();

    // A path between the community's two highest-ranked members, highlighted.
    const [a, b] = await page.evaluate(() =>
      window.enlaceExplorer.cy.nodes().sort((x, y) => y.data("score") - x.data("score")).slice(0, 2).map((n) => n.id()));
    await page.getByLabel("Path from (node id)").fill(a);
    await page.getByLabel("Path to (node id)").fill(b);
    await page.getByRole("button", { name: "Find path" }).click();
    await page.locator("[data-test=explorer-status]").filter({ hasText: /Path of \d+ hops/ }).waitFor();
    const highlighted = await page.evaluate(() => window.enlaceExplorer.cy.nodes(".path").map((n) => n.id()));
    assert.ok(highlighted.includes(a) && highlighted.includes(b), highlighted.join(" "));
    assert.ok((await page.evaluate(() => window.enlaceExplorer.cy.edges(".path").length)) >= highlighted.length - 1);

    // The time slider: at its start, later ties and events leave the view and the timeline.
    const slider = page.getByLabel("Events and ties up to");
    const events = () => page.locator("[data-test=timeline] li[data-id]").count();
    const allEvents = await events();
    const hiddenBefore = await page.evaluate(() => window.enlaceExplorer.cy.elements(".later").length);
    assert.equal(hiddenBefore, 0);
    await slider.evaluate((el) => {
      el.value = el.min;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const hidden = await page.evaluate(() => window.enlaceExplorer.cy.elements(".later").length);
    assert.ok(hidden > 0, "moving the slider back hides later ties");
    assert.ok((await events()) <= allEvents);
    await slider.evaluate((el) => {
      el.value = el.max;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    assert.equal(await page.evaluate(() => window.enlaceExplorer.cy.elements(".later").length), 0);
    const dates = await page.locator("[data-test=timeline] li[data-id] .when").allTextContents();
    assert.ok(dates.length > 0, "events in the timeline");

    // GraphML from the server (fetched with the session, saved from a Blob URL).
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export GraphML" }).click(),
    ]);
    assert.match(download.suggestedFilename(), /\.graphml$/);
    const graphml = await readFile(await download.path(), "utf8");
    assert.ok(graphml.startsWith("<?xml"), graphml.slice(0, 40));
    assert.ok(graphml.includes("<graphml"));
    assert.ok(!graphml.includes(">H2<"), "no H2 data in an export");
    const [png] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export PNG" }).click(),
    ]);
    const bytes = await readFile(await png.path());
    assert.equal(bytes.subarray(1, 4).toString(), "PNG");
    // The token stayed out of every URL.
    assert.ok(!page.url().includes(await page.evaluate(() => sessionStorage.getItem("enlace.token"))));
    await page.evaluate(() => window.enlaceExplorer.cy.fit());
    await shot(page, "explorer");

    // Spanish: the page is drawn again with translated labels.
    await page.getByLabel("Language").selectOption("es");
    await page.getByRole("heading", { level: 1, name: "Explorador de redes" }).waitFor();
    await page.getByLabel("Colorear por").waitFor();
    await page.getByRole("button", { name: "Buscar ruta" }).waitFor();
    await page.getByRole("img", { name: /Grafo de la red con \d+ nodos/ }).waitFor();
    await page.context().close();

    // Other roles are refused the explorer, at the page and at the server.
    const officer = await signedIn("mx", "officer");
    await officer.goto(officer.url().split("#")[0] + "#/explorer");
    await officer.getByRole("alert").filter({ hasText: "may not open this page" }).waitFor();
    assert.equal(await call(officer, "GET", "/api/v1/network"), 403);
    await officer.context().close();
  });
}
