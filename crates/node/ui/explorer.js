// The network explorer (analysts): the node's communities, one drawn with Cytoscape.js (pan,
// zoom, drag; double-click or "Expand" opens a node's neighbours), coloured by country, kind or
// community and sized by centrality; a time slider and the timeline of the events in view; a
// path finder; exports as GraphML and GEXF (from the server, without H2 data) and PNG.
// Cytoscape is loaded only when this page opens; `window.enlaceExplorer` exposes the graph to
// the browser tests and the frame-rate measurement.

import { h, replace, field, select } from "./dom.js";
import { t, tk, fmtDate, fmtNumber } from "./i18n.js";
import { api } from "./app.js";

const EVENT_KINDS = ["encounter", "crossing", "case", "transfer"];
const COLOURS = {
  country: { US: "#1d4ed8", MX: "#15803d", GT: "#7c3aed" },
  kind: {
    person: "#0b4f8a", phone: "#b45309", vehicle: "#9d174d", address: "#4d7c0f", account: "#0e7490",
    organisation: "#7c2d12", document: "#6d28d9", encounter: "#be123c", crossing: "#c2410c",
    case: "#374151", transfer: "#0f766e",
  },
  palette: ["#1d4ed8", "#15803d", "#7c3aed", "#b45309", "#be123c", "#0e7490", "#4d7c0f", "#9d174d",
    "#c2410c", "#374151", "#0f766e", "#6d28d9"],
  none: "#6b7280",
};
/** Above this many nodes the drawing trades detail for speed while panning and zooming. */
const BIG = 1500;
/** Events listed in the timeline at most. */
const TIMELINE_ROWS = 150;
const DAY = 86400;

let loading = null;

/** Cytoscape.js, loaded once from the node (a script file: the policy allows no inline code). */
function cytoscapeLib() {
  if (window.cytoscape) return Promise.resolve(window.cytoscape);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/ui/vendor/cytoscape.min.js";
      s.onload = () => resolve(window.cytoscape);
      s.onerror = () => {
        loading = null;
        reject(new Error(t("explorer.no_library")));
      };
      document.head.appendChild(s);
    });
  }
  return loading;
}

/**
 * Cytoscape adds a <style> element for its container unless an element with this id exists;
 * the policy forbids inline style, so style.css carries the rule and this marker stands in.
 */
function markStylesheet() {
  const id = "__________cytoscape_stylesheet";
  if (!document.getElementById(id)) document.head.appendChild(h("meta", { id, name: "cytoscape-style", content: "style.css" }));
}

/** A file from the API, fetched with the session token (never put in a URL), as a Blob. */
async function fetchBlob(path) {
  const token = sessionStorage.getItem("enlace.token");
  const res = await fetch(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
  });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = (await res.json()).error ?? message;
    } catch {
      // Not JSON: the status text says enough.
    }
    throw new Error(message);
  }
  return res.blob();
}

// Saved through an object URL, never a data URL: a full-size PNG runs to megabytes, past what
// browsers reliably download from a data URL. The URL is revoked once the download has read it.
function saveBlob(blob, name) {
  const href = URL.createObjectURL(blob);
  const a = h("a", { href, download: name, class: "hidden-link" });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

function colourOf(mode, d) {
  if (mode === "country") return COLOURS.country[d.country] ?? COLOURS.none;
  if (mode === "kind") return COLOURS.kind[d.kind] ?? COLOURS.none;
  if (d.community === null || d.community === undefined) return COLOURS.none;
  return COLOURS.palette[d.community % COLOURS.palette.length];
}

/** Places nodes on a sunflower spiral by rank: even spacing, no overlap, O(n). */
function spiral(elements) {
  const nodes = elements.filter((e) => e.group === "nodes").sort((a, b) => b.data.score - a.data.score);
  const golden = Math.PI * (3 - Math.sqrt(5));
  nodes.forEach((e, i) => {
    const r = 18 * Math.sqrt(i);
    e.position = { x: r * Math.cos(i * golden), y: r * Math.sin(i * golden) };
  });
}

function shortLabel(n) {
  const text = n.label || n.id;
  return text.length > 28 ? `${text.slice(0, 27)}…` : text;
}

function nodeElement(n) {
  return {
    group: "nodes",
    data: {
      id: n.id, kind: n.kind, country: n.country ?? null, community: n.community ?? null,
      score: n.score ?? 0, time: n.time ?? null, label: n.label ?? null, short: shortLabel(n),
      handling: n.handling ?? null,
    },
  };
}

function edgeElements(edges, have = () => false) {
  const out = [];
  edges.forEach((e, i) => {
    const id = `e:${e.source}|${e.target}|${e.kind}|${e.time ?? ""}|${i}`;
    const key = `${e.source}|${e.target}|${e.kind}|${e.time ?? ""}`;
    if (have(key)) return;
    out.push({ group: "edges", data: { id, key, source: e.source, target: e.target, kind: e.kind, time: e.time ?? null, handling: e.handling ?? null } });
  });
  return out;
}

const STYLE = [
  { selector: "node", style: {
    "background-color": "data(color)", width: "data(size)", height: "data(size)", label: "data(short)",
    "font-size": 9, "min-zoomed-font-size": 7, "text-valign": "bottom", "text-margin-y": 2, color: "#111827",
    "text-background-color": "#ffffff", "text-background-opacity": 0.7,
  } },
  { selector: "edge", style: { width: 1, "line-color": "#9ca3af", "curve-style": "haystack", "haystack-radius": 0, opacity: 0.8 } },
  { selector: "node[?handling]", style: { shape: "diamond" } },
  { selector: ":selected", style: { "border-width": 3, "border-color": "#111827" } },
  { selector: "edge.path", style: { "line-color": "#b45309", width: 5, "z-index": 99 } },
  { selector: "node.path", style: { "border-width": 5, "border-color": "#b45309", "z-index": 99 } },
  { selector: ".later", style: { display: "none" } },
];

export async function explorerPage(main) {
  const summary = await api("GET", "/api/v1/network").catch((e) => {
    if (e.status === 404) return null;
    throw e;
  });
  if (!main.isConnected) return;
  replace(main, h("h1", {}, t("explorer.title")));
  if (!summary) {
    main.appendChild(h("p", { class: "muted", role: "status" }, t("explorer.none")));
    return;
  }
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, t("explorer.nodes")), h("dd", {}, fmtNumber(summary.nodes)),
    h("dt", {}, t("explorer.edges")), h("dd", {}, fmtNumber(summary.edges)),
    h("dt", {}, t("explorer.communities")), h("dd", {}, fmtNumber(summary.communities)),
    h("dt", {}, t("explorer.by_country")),
    h("dd", {}, Object.entries(summary.nodes_by_country).map(([c, n]) => `${c} ${fmtNumber(n)}`).join(" · ") || "—"),
    h("dt", {}, t("explorer.by_kind")),
    h("dd", {}, Object.entries(summary.nodes_by_kind).map(([k, n]) => `${tk("nodekind", k)} ${fmtNumber(n)}`).join(" · ")),
  );
  const rows = summary.largest.map((c) =>
    h(
      "tr",
      { "data-community": c.id },
      h("td", { class: "num" }, String(c.id)),
      h("td", { class: "num" }, fmtNumber(c.nodes)),
      h("td", { class: "num" }, fmtNumber(c.persons)),
      h("td", {}, Object.entries(c.countries).map(([k, n]) => `${k} ${fmtNumber(n)}`).join(" · ") || "—"),
      h("td", {}, c.top.map((m) => m.label || m.id).join("; ")),
      h("td", {}, h("button", { type: "button", class: "small", "data-test": "open-community", onclick: () => open(c.id) }, t("explorer.open"))),
    ),
  );
  const list = h(
    "table",
    { "data-test": "communities" },
    h("caption", {}, t("explorer.largest")),
    h("thead", {}, h("tr", {}, [t("explorer.community"), t("explorer.nodes"), t("explorer.persons"), t("explorer.countries"), t("explorer.top"), ""].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows),
  );

  // Controls.
  const [colourField, colour] = field(t("explorer.colour"), select([
    ["country", t("explorer.colour_country")], ["kind", t("explorer.colour_kind")], ["community", t("explorer.colour_community")],
  ], "country"));
  colour.dataset.test = "colour";
  const slider = h("input", { type: "range", min: 0, max: 0, step: DAY, value: 0, "data-test": "time" });
  const [timeField] = field(t("explorer.until"), slider);
  const timeOut = h("output", { for: slider.id, class: "muted" }, "—");
  timeField.appendChild(timeOut);
  const [fromField, from] = field(t("explorer.from"), h("input", { autocomplete: "off", list: "explorer-ids", "data-test": "path-from" }));
  const [toField, to] = field(t("explorer.to"), h("input", { autocomplete: "off", list: "explorer-ids", "data-test": "path-to" }));
  const ids = h("datalist", { id: "explorer-ids" });
  const message = h("p", { role: "status", class: "muted", "data-test": "explorer-status" });
  const describe = h("p", { id: "explorer-desc", class: "muted", "data-test": "explorer-desc" });
  const container = h("div", {
    class: "cy", role: "img", tabindex: 0, "aria-label": t("explorer.canvas"), "aria-describedby": "explorer-desc", "data-test": "graph",
  });
  const details = h("div", { class: "card", "aria-live": "polite", "data-test": "node-details" }, h("p", { class: "muted" }, t("explorer.pick")));
  const timeline = h("ol", { class: "timeline", "data-test": "timeline" });
  const expandBtn = h("button", { type: "button", class: "secondary", disabled: true, "data-test": "expand" }, t("explorer.expand"));
  const buttons = h(
    "div",
    { class: "actions wrap" },
    h("button", { type: "button", "data-test": "find-path", onclick: () => findPath() }, t("explorer.find_path")),
    expandBtn,
    h("button", { type: "button", class: "secondary", "data-test": "export-graphml", onclick: () => exportFile("graphml") }, t("explorer.export_graphml")),
    h("button", { type: "button", class: "secondary", "data-test": "export-gexf", onclick: () => exportFile("gexf") }, t("explorer.export_gexf")),
    h("button", { type: "button", class: "secondary", "data-test": "export-png", onclick: () => exportPng() }, t("explorer.export_png")),
  );
  const section = h(
    "section",
    { class: "explorer", hidden: true, "aria-labelledby": "explorer-heading" },
    h("h2", { id: "explorer-heading" }, t("explorer.graph")),
    h("div", { class: "grid" }, colourField, timeField, fromField, toField),
    ids,
    buttons,
    message,
    h("div", { class: "explorer-body" }, container, h("div", { class: "side" }, details, h("h3", {}, t("explorer.timeline")), timeline)),
    describe,
    h("p", { class: "hint" }, t("explorer.help")),
  );
  main.append(h("div", { class: "card" }, facts), list, section);

  const state = { cy: null, community: null, selected: null, drawnAt: null };
  window.enlaceExplorer = {
    state,
    get cy() { return state.cy; },
    open,
    expand,
    show: (view, name) => draw(view, name ?? "view"),
  };

  function say(text, kind = "muted") {
    message.className = kind;
    message.setAttribute("role", kind === "error" ? "alert" : "status");
    message.textContent = text;
  }

  /** Colour and size of each node's data (before drawing, or on a drawn graph's nodes). */
  function paint(datas) {
    let max = 0;
    for (const d of datas) max = Math.max(max, d.score);
    for (const d of datas) {
      d.color = colourOf(colour.value, d);
      d.size = 10 + 30 * Math.sqrt(max > 0 ? d.score / max : 0);
    }
  }

  function recolour() {
    const cy = state.cy;
    if (!cy) return;
    const nodes = cy.nodes();
    const datas = nodes.map((n) => ({ ...n.data() }));
    paint(datas);
    cy.batch(() => {
      nodes.forEach((n, i) => {
        if (n.data("color") !== datas[i].color) n.data("color", datas[i].color);
        if (n.data("size") !== datas[i].size) n.data("size", datas[i].size);
      });
    });
  }

  function timeBounds() {
    let lo = Infinity;
    let hi = -Infinity;
    state.cy.elements().forEach((el) => {
      const time = el.data("time");
      if (time === null || time === undefined) return;
      lo = Math.min(lo, time);
      hi = Math.max(hi, time);
    });
    return Number.isFinite(lo) ? [lo, hi] : null;
  }

  function resetSlider() {
    const b = timeBounds();
    slider.disabled = !b;
    if (!b) {
      timeOut.textContent = t("explorer.undated");
      return;
    }
    slider.min = String(Math.floor(b[0] / DAY) * DAY);
    slider.max = String(Math.ceil(b[1] / DAY) * DAY);
    slider.value = slider.max;
    applyTime();
  }

  /** Hides dated edges and events after the slider's day; lists the events still in view. */
  function applyTime() {
    const cy = state.cy;
    if (!cy) return;
    const until = Number(slider.value);
    timeOut.textContent = slider.disabled ? t("explorer.undated") : fmtDate(until);
    // Only what changes side: restyling every element costs seconds at thousands.
    cy.batch(() => {
      cy.elements().forEach((el) => {
        const time = el.data("time");
        const later = time !== null && time !== undefined && time > until;
        if (later !== el.hasClass("later")) el.toggleClass("later", later);
      });
    });
    const events = cy
      .nodes()
      .filter((n) => EVENT_KINDS.includes(n.data("kind")) && !n.hasClass("later"))
      .map((n) => n.data())
      .sort((a, b) => (a.time ?? Infinity) - (b.time ?? Infinity));
    replace(
      timeline,
      events.slice(0, TIMELINE_ROWS).map((d) => h("li", { "data-id": d.id }, h("span", { class: "when" }, d.time ? fmtDate(d.time) : "—"), " ", tk("nodekind", d.kind), " · ", d.label || d.id)),
      events.length > TIMELINE_ROWS ? h("li", { class: "muted" }, t("explorer.more_events", { n: fmtNumber(events.length - TIMELINE_ROWS) })) : null,
      events.length ? null : h("li", { class: "muted" }, t("explorer.no_events")),
    );
    state.timelineCount = events.length;
  }

  function describeView(view) {
    const cy = state.cy;
    const top = cy.nodes().sort((a, b) => b.data("score") - a.data("score")).slice(0, 5).map((n) => n.data("label") || n.id());
    const parts = [t("explorer.showing", { nodes: fmtNumber(cy.nodes().length), edges: fmtNumber(cy.edges().length) })];
    if (top.length) parts.push(t("explorer.top_members", { names: top.join("; ") }));
    if (view?.truncated) parts.push(t("explorer.truncated", { total: fmtNumber(view.total_nodes) }));
    describe.textContent = parts.join(" ");
    container.setAttribute("aria-label", t("explorer.canvas_n", { n: fmtNumber(cy.nodes().length) }));
    replace(ids, cy.nodes().slice(0, 500).map((n) => h("option", { value: n.id() })));
  }

  function showDetails(n) {
    const d = n.data();
    state.selected = d.id;
    expandBtn.disabled = false;
    replace(
      details,
      h("h3", {}, d.label || d.id),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("explorer.id")), h("dd", { class: "mono" }, d.id),
        h("dt", {}, t("explorer.kind")), h("dd", {}, tk("nodekind", d.kind)),
        h("dt", {}, t("explorer.country")), h("dd", {}, d.country ?? "—"),
        h("dt", {}, t("explorer.community")), h("dd", {}, d.community ?? "—"),
        h("dt", {}, t("explorer.score")), h("dd", {}, d.score.toPrecision(3)),
        d.time ? [h("dt", {}, t("explorer.date")), h("dd", {}, fmtDate(d.time))] : null,
        d.handling ? [h("dt", {}, t("explorer.handling")), h("dd", { class: `handling handling-${d.handling}` }, `${d.handling} — ${tk("handling", d.handling)}`)] : null,
      ),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "small secondary", onclick: () => { from.value = d.id; } }, t("explorer.use_from")),
        h("button", { type: "button", class: "small secondary", onclick: () => { to.value = d.id; } }, t("explorer.use_to"))),
    );
  }

  async function draw(view, name) {
    const cytoscape = await cytoscapeLib();
    if (!main.isConnected) return;
    markStylesheet();
    section.hidden = false;
    if (state.cy) state.cy.destroy();
    const started = performance.now();
    const big = view.nodes.length > BIG;
    const nodeEls = view.nodes.map(nodeElement);
    paint(nodeEls.map((e) => e.data));
    const elements = [...nodeEls, ...edgeElements(view.edges)];
    // A force-directed layout reads well but costs O(n²) per iteration: above 300 nodes the
    // nodes go on a sunflower spiral instead, highest-ranked in the middle (linear time).
    const small = view.nodes.length <= 300;
    const layout = small
      ? { name: "cose", animate: false, numIter: 400, randomize: true, nodeDimensionsIncludeLabels: false, fit: true, padding: 20 }
      : { name: "preset", fit: true, padding: 20 };
    const initial = small ? { name: "preset" } : layout;
    if (!small) spiral(elements);
    const cy = cytoscape({
      container,
      elements,
      // No labels on thousands of nodes: measuring them all costs seconds (the details panel
      // names the node selected).
      style: big ? [...STYLE, { selector: "node", style: { label: "" } }] : STYLE,
      // The spiral's positions are in the elements: laid out once, as they are created.
      layout: initial,
      // Speed at thousands of nodes: no retina resampling, no motion blur, a cached texture
      // and no edges while the view moves; labels only once zoomed in (min-zoomed-font-size).
      pixelRatio: 1,
      motionBlur: false,
      textureOnViewport: big,
      hideEdgesOnViewport: big,
      hideLabelsOnViewport: big,
      wheelSensitivity: 0.4,
      minZoom: 0.02,
      maxZoom: 5,
    });
    state.cy = cy;
    state.name = name;
    state.view = view;
    if (small) cy.layout(layout).run();
    cy.on("tap", "node", (ev) => showDetails(ev.target));
    cy.on("dbltap", "node", (ev) => expand(ev.target.id()));
    resetSlider();
    describeView(view);
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    state.drawnAt = performance.now();
    state.drawMs = state.drawnAt - started;
    say(t("explorer.drawn", { nodes: fmtNumber(cy.nodes().length), edges: fmtNumber(cy.edges().length) }));
  }

  async function open(id) {
    say(t("common.loading"));
    try {
      const view = await api("GET", `/api/v1/network/community/${encodeURIComponent(id)}`);
      state.community = id;
      await draw(view, `community-${id}`);
      section.scrollIntoView?.({ block: "start" });
    } catch (e) {
      say(e.message, "error");
    }
  }

  /** Adds a node's neighbours (one hop) around it. */
  async function expand(id) {
    const cy = state.cy;
    if (!cy) return 0;
    try {
      const view = await api("GET", `/api/v1/network/ego?node=${encodeURIComponent(id)}&depth=1`);
      const added = merge(view, id);
      say(t("explorer.expanded", { n: fmtNumber(added) }));
      return added;
    } catch (e) {
      say(e.message, "error");
      return 0;
    }
  }

  /** Adds the nodes and edges of `view` not yet drawn, placed in a ring around `centre`. */
  function merge(view, centre) {
    const cy = state.cy;
    const fresh = view.nodes.filter((n) => cy.getElementById(n.id).empty());
    const have = new Set(cy.edges().map((e) => e.data("key")));
    const c = cy.getElementById(centre);
    const at = c.nonempty() ? c.position() : { x: 0, y: 0 };
    const r = 60 + fresh.length * 2;
    cy.batch(() => {
      fresh.forEach((n, i) => {
        const a = (2 * Math.PI * i) / Math.max(1, fresh.length);
        cy.add({ ...nodeElement(n), position: { x: at.x + r * Math.cos(a), y: at.y + r * Math.sin(a) } });
      });
      cy.add(edgeElements(view.edges, (k) => have.has(k)));
    });
    recolour();
    applyTime();
    describeView(state.view);
    return fresh.length;
  }

  expandBtn.addEventListener("click", () => state.selected && expand(state.selected));
  colour.addEventListener("change", recolour);
  slider.addEventListener("input", applyTime);

  async function findPath() {
    const cy = state.cy;
    if (!cy) return;
    if (!from.value.trim() || !to.value.trim()) {
      say(t("explorer.path_missing"), "error");
      return;
    }
    try {
      const q = `from=${encodeURIComponent(from.value.trim())}&to=${encodeURIComponent(to.value.trim())}`;
      const answer = await api("GET", `/api/v1/network/path?${q}`);
      cy.elements().removeClass("path");
      if (!answer.found) {
        say(t("explorer.no_path"));
        return;
      }
      merge(answer.view, answer.path[0]);
      const ids = answer.path;
      cy.batch(() => {
        ids.forEach((id, i) => {
          const n = cy.getElementById(id);
          n.addClass("path");
          if (i > 0) n.edgesWith(cy.getElementById(ids[i - 1])).addClass("path");
        });
      });
      state.path = ids;
      cy.fit(cy.elements(".path"), 60);
      say(t("explorer.path", { hops: answer.hops, path: ids.map((id) => cy.getElementById(id).data("short") || id).join(" → ") }));
    } catch (e) {
      say(e.message, "error");
    }
  }

  async function exportFile(format) {
    if (state.community === null) return;
    try {
      const name = `${state.community}.${format}`;
      const blob = await fetchBlob(`/api/v1/network/export/${encodeURIComponent(name)}`);
      saveBlob(blob, `enlace-community-${name}`);
      say(t("explorer.exported", { name }));
    } catch (e) {
      say(e.message, "error");
    }
  }

  function exportPng() {
    if (!state.cy) return;
    const png = state.cy.png({ output: "blob", full: true, bg: "#ffffff", maxWidth: 4000, maxHeight: 4000 });
    saveBlob(png, `enlace-${state.name}.png`);
  }

  // The largest community opens at once: the analyst lands on a drawn graph.
  if (summary.largest.length) await open(summary.largest[0].id);
}
