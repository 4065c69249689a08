// A hit's explanation and its clerical review. The explanation is drawn on this node's side
// from what the linkage unit sent with the hit — the pair's comparison level of each field and
// the run's weight of every level — as a waterfall: the prior, each field's weight, the name
// frequency adjustments (surname and given name, together), what the records' companions added
// in the run's second pass, and the total against the threshold. The review form records accept,
// reject or unsure with a reason; the reason stays at this node.

import { h, replace, field, uid } from "./dom.js";
import { t, tk, fmtDate } from "./i18n.js";
import { api } from "./app.js";

export const DECISIONS = ["accept", "reject", "unsure"];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The steps of a hit's waterfall: [{label, detail, weight}], or null without evidence. */
export function steps(weights, hit) {
  if (!weights || !hit.levels || typeof hit.weight !== "number") return null;
  const levels = hit.levels.split(".").map(Number);
  if (levels.length !== weights.fields.length) return null;
  const out = [{ label: t("explain.prior"), detail: "", weight: weights.prior }];
  let sum = weights.prior;
  weights.fields.forEach((f, i) => {
    const level = f.levels[levels[i]];
    if (!level) return;
    out.push({ label: tk("mfield", f.field), detail: tk("lvl", level.name), weight: level.weight });
    sum += level.weight;
  });
  const rest = hit.weight - sum;
  if (Math.abs(rest) > 0.005) out.push({ label: t("explain.tf"), detail: "", weight: rest });
  if (typeof hit.companions === "number") {
    out.push({ label: t("explain.companions"), detail: "", weight: hit.companions });
  }
  return out;
}

/** The pair's weight in the run: its fields' and what its companions added. */
export function total(hit) {
  return hit.weight + (typeof hit.companions === "number" ? hit.companions : 0);
}

const fmtBits = (w) => `${w >= 0 ? "+" : "−"}${Math.abs(w).toFixed(2)}`;

/** The waterfall of a hit as an SVG chart, with a table that says the same in text. */
export function explanation(weights, hit) {
  const parts = steps(weights, hit);
  const inRun = parts ? total(hit) : 0;
  const headingId = uid("explain");
  if (!parts) {
    return h("section", { class: "card", "aria-labelledby": headingId, "data-test": "explanation" },
      h("h2", { id: headingId, tabindex: "-1" }, t("explain.title")),
      h("p", { class: "muted" }, t("explain.none")));
  }
  // The running total after each step, and the chart's range (threshold and zero included).
  let running = 0;
  const bars = parts.map((p) => {
    const from = running;
    running += p.weight;
    return { ...p, from, to: running };
  });
  const values = [0, weights.threshold, ...bars.flatMap((b) => [b.from, b.to])];
  const lo = Math.floor(Math.min(...values)) - 1;
  const hi = Math.ceil(Math.max(...values)) + 1;
  const labelW = 300;
  const plotW = 420;
  const rowH = 26;
  const top = 10;
  const height = top + rowH * (bars.length + 1) + 24;
  const x = (v) => labelW + ((v - lo) / (hi - lo)) * plotW;
  const chart = svg("svg", {
    viewBox: `0 0 ${labelW + plotW + 70} ${height}`,
    class: "waterfall",
    role: "img",
    "aria-label": t("explain.chart", { total: fmtBits(inRun), threshold: fmtBits(weights.threshold) }),
  });
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const left = x(Math.min(b.from, b.to));
    const w = Math.max(1, Math.abs(x(b.to) - x(b.from)));
    chart.appendChild(svg("text", { x: 4, y: y + 17, class: "wf-label" }, b.detail ? `${b.label}: ${b.detail}` : b.label));
    chart.appendChild(svg("rect", { x: left, y: y + 4, width: w, height: rowH - 8, class: b.weight >= 0 ? "wf-up" : "wf-down" }));
    chart.appendChild(svg("text", { x: labelW + plotW + 6, y: y + 17, class: "wf-value" }, fmtBits(b.weight)));
    if (i + 1 < bars.length) {
      chart.appendChild(svg("line", { x1: x(b.to), x2: x(b.to), y1: y + rowH - 4, y2: y + rowH + 4, class: "wf-link" }));
    }
  });
  const yTotal = top + bars.length * rowH;
  chart.appendChild(svg("text", { x: 4, y: yTotal + 17, class: "wf-label wf-total" }, t("explain.total")));
  chart.appendChild(svg("rect", {
    x: x(Math.min(0, inRun)), y: yTotal + 4, width: Math.max(1, Math.abs(x(inRun) - x(0))), height: rowH - 8,
    class: inRun >= weights.threshold ? "wf-total-link" : "wf-total-nolink",
  }));
  chart.appendChild(svg("text", { x: labelW + plotW + 6, y: yTotal + 17, class: "wf-value wf-total" }, fmtBits(inRun)));
  const yAxis = yTotal + rowH + 4;
  chart.appendChild(svg("line", { x1: x(weights.threshold), x2: x(weights.threshold), y1: top, y2: yAxis, class: "wf-threshold" }));
  chart.appendChild(svg("text", { x: x(weights.threshold) + 3, y: yAxis + 14, class: "wf-value" }, t("explain.threshold", { w: fmtBits(weights.threshold) })));
  chart.appendChild(svg("line", { x1: x(0), x2: x(0), y1: top, y2: yAxis, class: "wf-zero" }));

  let run = 0;
  const rows = parts.map((p) => {
    run += p.weight;
    return h("tr", {}, h("th", { scope: "row" }, p.label), h("td", {}, p.detail || "—"), h("td", { class: "num" }, fmtBits(p.weight)), h("td", { class: "num" }, fmtBits(run)));
  });
  const verdict = inRun >= weights.threshold ? t("explain.link") : t("explain.nolink");
  return h(
    "section",
    { class: "card", "aria-labelledby": headingId, "data-test": "explanation" },
    h("h2", { id: headingId, tabindex: "-1" }, t("explain.title")),
    h("p", {}, t("explain.about", { record: hit.record || "—", partner: hit.partner.toUpperCase(), ref: hit.partner_ref })),
    chart,
    h("p", { role: "status" }, t("explain.verdict", { total: fmtBits(inRun), threshold: fmtBits(weights.threshold), verdict })),
    h("details", {}, h("summary", {}, t("explain.as_table")),
      h("table", {}, h("caption", {}, t("explain.title")),
        h("thead", {}, h("tr", {}, [t("explain.step"), t("explain.level"), t("explain.weight"), t("explain.running")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows))),
    h("p", { class: "hint" }, t("explain.note")),
  );
}

/** The review form of a hit; `done(review)` is called once the node has recorded it. */
export function reviewForm(area, project, hit, done) {
  const headingId = uid("rev");
  const group = uid("decision");
  const choices = DECISIONS.map((d) => {
    const id = uid("d");
    const radio = h("input", { type: "radio", id, name: group, value: d });
    radio.checked = hit.review?.decision === d;
    return h("div", { class: "check" }, radio, h("label", { for: id }, tk("decision", d)));
  });
  const [reasonField, reason] = field(t("review.reason"), h("textarea", { rows: 3, maxlength: 1000, required: true }), t("review.reason_hint"));
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": headingId, "data-test": "review-form" },
    h("h2", { id: headingId, tabindex: "-1" }, t("review.title")),
    h("p", {}, t("review.about", { record: hit.record || "—", partner: hit.partner.toUpperCase(), ref: hit.partner_ref, band: tk("band", hit.band) })),
    hit.review ? h("p", { class: "muted" }, t("review.previous", { decision: tk("decision", hit.review.decision), who: hit.review.reviewer, when: fmtDate(hit.review.decided_at) })) : null,
    h("fieldset", {}, h("legend", {}, t("review.decision")), choices),
    reasonField,
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("review.save")), h("button", { type: "button", class: "secondary", onclick: () => replace(area) }, t("common.cancel"))),
    message,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const decision = form.querySelector(`input[name="${group}"]:checked`)?.value;
    const missing = [];
    if (!decision) missing.push(t("review.decision"));
    if (!reason.value.trim()) missing.push(t("review.reason"));
    if (missing.length) {
      replace(message, h("p", { class: "error", role: "alert" }, t("request.missing", { fields: missing.join(", ") })));
      return;
    }
    try {
      const out = await api("POST", "/api/v1/reviews", { project, opaque: hit.opaque, partner_ref: hit.partner_ref, decision, reason: reason.value.trim() });
      replace(message, h("p", { class: "ok", role: "status" }, out.sent ? t("review.saved_sent") : t("review.saved_kept", { why: out.not_sent ?? "" })));
      done({ decision, reason: reason.value.trim(), reviewer: "", decided_at: Math.floor(Date.now() / 1000), sent: out.sent });
    } catch (e) {
      replace(message, h("p", { class: "error", role: "alert" }, e.message));
    }
  });
  replace(area, form);
  form.querySelector("h2").focus();
}

/** A hit's review state, for the table. */
export function reviewBadge(hit) {
  const decision = hit.review?.decision;
  if (!decision) return hit.band === "certain" ? "—" : h("span", { class: "badge todo" }, t("review.todo"));
  return h("span", { class: `badge decision-${decision}` }, tk("decision", decision));
}
