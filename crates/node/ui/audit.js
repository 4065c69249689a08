// The audit page (approvers and admins): the chain's state, the entries newest first with
// filters (action, actor, subject, dates), older pages on demand, and the disclosure accounting
// as CSV for the legal officer.

import { h, replace, field, select } from "./dom.js";
import { t, tk, fmtDate, fmtNumber } from "./i18n.js";
import { api, download } from "./app.js";
import { heading, status, table } from "./widgets.js";

const PAGE = 100;

function detailText(e) {
  return Object.entries(e.detail ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

export async function auditPage(main) {
  heading(main, "audit.title");
  const [actionField, action] = field(t("audit.action"), select([["", t("common.all")]], ""));
  const [actorField, actor] = field(t("audit.actor"), h("input", { type: "search", autocomplete: "off" }));
  const [subjectField, subject] = field(t("audit.subject"), h("input", { type: "search", autocomplete: "off" }));
  const [fromField, from] = field(t("audit.from"), h("input", { type: "date" }));
  const [toField, to] = field(t("audit.to"), h("input", { type: "date" }));
  const state = h("div", { "data-test": "audit-chain" });
  const count = h("p", { role: "status", class: "muted" });
  const results = h("div", {});
  const more = h("div", {});
  const exportMessage = h("span", { "aria-live": "polite" });
  const exportButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        replace(exportMessage);
        const q = new URLSearchParams();
        if (from.value) q.set("from", from.value);
        if (to.value) q.set("to", to.value);
        try {
          const blob = await download(`/api/v1/audit/disclosures?${q}`, "disclosures.csv");
          const lines = (await blob.text()).trim().split("\n").length - 1;
          replace(exportMessage, status("ok", t("audit.exported", { n: fmtNumber(lines) })));
        } catch (e) {
          replace(exportMessage, status("error", e.message));
        }
      },
    },
    t("audit.export"),
  );
  const form = h(
    "form",
    { role: "search", "aria-label": t("audit.filters") },
    h("div", { class: "filters" }, actionField, actorField, subjectField, fromField, toField),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("audit.apply")), exportButton, exportMessage),
  );
  main.append(state, form, count, results, more);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  for (const c of [action, from, to]) c.addEventListener("change", () => load());

  let entries = [];

  function query(before) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (action.value) q.set("action", action.value);
    if (actor.value.trim()) q.set("actor", actor.value.trim());
    if (subject.value.trim()) q.set("subject", subject.value.trim());
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    if (before) q.set("before", String(before));
    return `/api/v1/audit?${q}`;
  }

  function draw(page) {
    const s = page.status;
    replace(
      state,
      h(
        "p",
        { class: s.intact ? "ok" : "error", "data-test": "audit-status" },
        s.intact ? t("overview.audit_intact") : t("overview.audit_broken", { n: s.problems }),
        " ",
        h("span", { class: "muted" }, t("overview.audit_entries", { n: fmtNumber(s.entries), at: fmtDate(s.last_at) })),
      ),
    );
    count.textContent = t("audit.count", { shown: fmtNumber(entries.length), n: fmtNumber(page.matching) });
    const rows = entries.map((e) =>
      h(
        "tr",
        { "data-action": e.action },
        h("td", { class: "num" }, e.seq),
        h("td", { class: "nowrap" }, fmtDate(e.at)),
        h("td", {}, tk("action", e.action)),
        h("td", {}, e.actor),
        h("td", { class: "mono" }, e.subject ?? "—"),
        h("td", {}, e.recipient ?? "—"),
        h("td", {}, e.purpose ?? ""),
        h("td", { class: "mono small-text wrap" }, detailText(e)),
      ),
    );
    replace(
      results,
      h("div", { class: "scroll" }, table(
        t("audit.caption"),
        ["#", t("audit.when"), t("audit.action"), t("audit.col_actor"), t("audit.col_subject"), t("audit.recipient"), t("audit.purpose"), t("audit.details")],
        rows.length ? rows : h("tr", {}, h("td", { colspan: 8 }, t("audit.none"))),
        { "data-test": "audit" },
      )),
    );
    replace(
      more,
      page.next_before
        ? h("button", { type: "button", onclick: () => loadMore(page.next_before) }, t("audit.older"))
        : null,
    );
  }

  async function load() {
    replace(results, status("muted", t("common.loading")));
    try {
      const page = await api("GET", query());
      if (action.options.length === 1) {
        for (const a of page.actions) action.appendChild(h("option", { value: a }, tk("action", a)));
      }
      entries = page.entries;
      draw(page);
    } catch (e) {
      replace(results, status("error", e.message));
    }
  }

  async function loadMore(before) {
    try {
      const page = await api("GET", query(before));
      entries = entries.concat(page.entries);
      draw(page);
    } catch (e) {
      replace(more, status("error", e.message));
    }
  }

  await load();
}
