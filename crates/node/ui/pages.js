// The pages: sign in, overview, hits (with a follow-up request from a hit), inbox (approvers),
// released data, border query (officers). Each renders into <main> from the node's API.

import { h, replace, field, select, uid } from "./dom.js";
import { t, tk, fmtDate, fmtNumber } from "./i18n.js";
import { api, signIn, go, download } from "./app.js";
import { auditPage } from "./audit.js";
import { outboxPage } from "./outbox.js";
import { heading, status, table } from "./widgets.js";
import { explanation, reviewForm, reviewBadge } from "./review.js";
import { explorerPage } from "./explorer.js";

const ALL = ["analyst", "approver", "officer", "admin"];
const OFFENCES = [
  "smuggling_of_migrants", "trafficking_in_persons", "document_fraud", "money_laundering",
  "missing_person", "family_tracing", "kidnapping",
];
const FIELDS = [
  "given_names", "surnames", "birth_date", "sex", "nationality", "document_numbers", "phones",
  "address", "encounters", "relative_contact", "case_reference",
];
const FLAGS = ["court_order", "subject_consent", "urgent"];
const HANDLING = ["H0", "H1", "H2", "H3"];
const BANDS = ["certain", "probable", "possible"];
const ID_KINDS = ["passport", "curp", "dpi_cui", "a_number", "national_id", "phone", "other"];
/** Rows of hits shown at once. */
const PAGE_ROWS = 200;

function band(b) {
  return h("span", { class: `band band-${b}` }, tk("band", b));
}

function checkboxes(legend, names, group, checked = [], disabled = {}) {
  const boxes = names.map((name) => {
    const id = uid(group);
    const box = h("input", { type: "checkbox", id, name: group, value: name });
    box.checked = checked.includes(name);
    const reason = disabled[name];
    if (reason) box.disabled = true;
    return h(
      "div",
      { class: "check" },
      box,
      h("label", { for: id }, tk(group, name)),
      reason ? h("span", { class: "hint" }, ` — ${reason}`) : null,
    );
  });
  return h("fieldset", {}, h("legend", {}, legend), boxes);
}

function ticked(form, group) {
  return [...form.querySelectorAll(`input[name="${group}"]:checked`)].map((b) => b.value);
}

// ----- sign in -----

function signinPage(main) {
  heading(main, "signin.title");
  const [nameField, name] = field(t("signin.name"), h("input", { autocomplete: "username", required: true }));
  const [pwField, password] = field(
    t("signin.password"),
    h("input", { type: "password", autocomplete: "current-password", required: true }),
  );
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    nameField,
    pwField,
    h("button", { type: "submit" }, t("signin.submit")),
    message,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(message);
    if (!name.value.trim() || !password.value) {
      replace(message, status("error", t("signin.missing")));
      return;
    }
    try {
      await signIn(name.value.trim(), password.value);
      password.value = "";
      go("#/overview");
    } catch (e) {
      const text =
        e.status === 401 ? t("signin.wrong") : e.status === 429 ? t("signin.slow") : t("signin.failed", { error: e.message });
      replace(message, status("error", text));
      password.focus();
    }
  });
  main.appendChild(form);
  name.focus();
}

// ----- overview -----

async function overviewPage(main, me) {
  const o = await api("GET", "/api/v1/overview");
  heading(main, "overview.title");
  const node = h(
    "section",
    { class: "card", "aria-labelledby": "ov-node" },
    h("h2", { id: "ov-node" }, t("overview.node")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("overview.node_id")), h("dd", { "data-test": "node-id" }, o.node),
      h("dt", {}, t("overview.country")), h("dd", {}, o.country),
      h("dt", {}, t("overview.node_role")), h("dd", {}, tk("node_role", o.node_role)),
      h("dt", {}, t("overview.you")), h("dd", { "data-test": "me" }, `${o.user} · ${tk("role", o.role)}`),
    ),
  );
  const cards = [node];
  if (o.inbox_pending !== null && o.inbox_pending !== undefined) {
    cards.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "ov-inbox" },
        h("h2", { id: "ov-inbox" }, t("overview.inbox")),
        h("p", { class: "big", "data-test": "inbox-pending" }, fmtNumber(o.inbox_pending)),
        h("a", { href: "#/inbox" }, t("overview.inbox_open")),
      ),
    );
  }
  const a = o.audit;
  cards.push(
    h(
      "section",
      { class: "card", "aria-labelledby": "ov-audit" },
      h("h2", { id: "ov-audit" }, t("overview.audit")),
      h(
        "p",
        { class: a.intact ? "ok" : "error", "data-test": "audit-status" },
        a.intact ? t("overview.audit_intact") : t("overview.audit_broken", { n: a.problems }),
      ),
      h("p", {}, t("overview.audit_entries", { n: fmtNumber(a.entries), at: fmtDate(a.last_at) })),
      ["approver", "admin"].includes(me.role) ? h("a", { href: "#/audit" }, t("overview.audit_open")) : null,
    ),
  );
  main.appendChild(h("div", { class: "cards" }, cards));

  main.appendChild(
    table(
      t("overview.projects"),
      [t("overview.project"), t("overview.unit"), t("overview.run"), t("overview.records_hit"), t("overview.rows"), ...BANDS.map((b) => tk("band", b))],
      o.projects.length
        ? o.projects.map((p) =>
            h(
              "tr",
              {},
              h("td", {}, p.id), h("td", {}, p.unit), h("td", {}, p.run ?? "—"),
              h("td", { class: "num" }, fmtNumber(p.records)), h("td", { class: "num" }, fmtNumber(p.rows)),
              BANDS.map((b) => h("td", { class: "num" }, fmtNumber(p.bands[b] ?? 0))),
            ),
          )
        : h("tr", {}, h("td", { colspan: 8 }, t("overview.no_projects"))),
      { "data-test": "projects" },
    ),
  );
  if (o.hosted) main.appendChild(hostedTable(o.hosted));
  main.appendChild(
    table(
      t("overview.sources"),
      [t("overview.source"), t("overview.country"), t("overview.records"), t("overview.imports")],
      o.sources.length
        ? o.sources.map((s) =>
            h("tr", {}, h("td", {}, s.name), h("td", {}, s.country), h("td", { class: "num" }, fmtNumber(s.records)), h("td", { class: "num" }, fmtNumber(s.imports))),
          )
        : h("tr", {}, h("td", { colspan: 4 }, t("overview.no_sources"))),
    ),
  );
  main.appendChild(
    table(
      t("overview.import_runs"),
      ["#", t("overview.source"), t("overview.file"), t("overview.status"), t("overview.read"), t("overview.stored"), t("overview.rejected"), t("overview.started")],
      o.imports.map((i) =>
        h(
          "tr",
          {},
          h("td", {}, i.id), h("td", {}, i.source), h("td", {}, i.file_name), h("td", {}, tk("import", i.status)),
          h("td", { class: "num" }, fmtNumber(i.read)), h("td", { class: "num" }, fmtNumber(i.stored)),
          h("td", { class: "num" }, fmtNumber(i.rejected), me.role === "admin" && i.rejected > 0 ? rejectsButton(i) : null),
          h("td", {}, fmtDate(i.started_at)),
        ),
      ),
      { "data-test": "imports" },
    ),
  );
}

/** Downloads an import run's rejected rows (admins: they hold the raw rows). */
function rejectsButton(run) {
  const message = h("span", { role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      class: "small secondary",
      "aria-label": t("overview.rejects_download_run", { id: run.id }),
      onclick: async () => {
        replace(message);
        try {
          await download(`/api/v1/imports/${run.id}/rejects`, `rejects-${run.source}-${run.id}.csv`);
        } catch (e) {
          replace(message, status("error", e.message));
        }
      },
    },
    t("overview.rejects_download"),
  );
  return h("div", {}, button, message);
}

/** A linkage unit's own view: the projects it runs, their uploads and latest run. */
function hostedTable(hosted) {
  const rows = hosted.map((p) => {
    const latest = p.runs[0];
    const people = latest?.summary?.people_across;
    return h(
      "tr",
      {},
      h("td", {}, p.id),
      h("td", {}, p.initiator.toUpperCase()),
      h("td", {}, p.holders.map((x) => x.toUpperCase()).join(", ")),
      h("td", {}, p.uploads.map((u) => `${u.holder.toUpperCase()} ${fmtNumber(u.records)}`).join(" · ") || "—"),
      h("td", {}, latest ? `${latest.run} · ${tk("run", latest.state)}` : "—"),
      h("td", {}, latest?.finished_at ? fmtDate(latest.finished_at) : "—"),
      h("td", { class: "num" }, people === undefined ? "—" : fmtNumber(people)),
    );
  });
  return table(
    t("overview.hosted"),
    [t("overview.project"), t("overview.initiator"), t("overview.holders"), t("overview.uploads"), t("overview.run"), t("overview.finished"), t("overview.people_across")],
    rows.length ? rows : h("tr", {}, h("td", { colspan: 7 }, t("overview.no_projects"))),
    { "data-test": "hosted" },
  );
}

// ----- hits -----

async function projectChooser(label) {
  const o = await api("GET", "/api/v1/overview");
  const ids = o.projects.map((p) => p.id);
  const [wrap, control] = field(label, select(ids.map((id) => [id, id]), ids[0]));
  return [wrap, control, ids];
}

async function hitsPage(main) {
  heading(main, "hits.title");
  const [projectField, project, ids] = await projectChooser(t("hits.project"));
  if (!ids.length) {
    main.appendChild(status("muted", t("hits.no_projects")));
    return;
  }
  const [bandField, bandFilter] = field(t("hits.band"), select([["", t("common.all")], ...BANDS.map((b) => [b, tk("band", b)])], ""));
  const [partnerField, partnerFilter] = field(t("hits.partner"), select([["", t("common.all")]], ""));
  const [searchField, search] = field(t("hits.search"), h("input", { type: "search" }));
  const [reviewField, reviewFilter] = field(
    t("hits.review"),
    select([["", t("common.all")], ["todo", t("review.todo")], ["done", t("review.done")]], ""),
  );
  const count = h("p", { role: "status", class: "muted" });
  const results = h("div", {});
  const formArea = h("div", {});
  main.append(
    h("div", { class: "filters" }, projectField, bandField, partnerField, reviewField, searchField),
    count,
    results,
    formArea,
  );
  let data = null;
  let sortKey = "band";
  let sortDir = 1;
  let shown = PAGE_ROWS;
  const bandRank = (b) => BANDS.indexOf(b);

  function draw() {
    const rows = data.rows
      .filter((r) => !bandFilter.value || r.band === bandFilter.value)
      .filter((r) => !partnerFilter.value || r.partner === partnerFilter.value)
      .filter((r) => !reviewFilter.value || (reviewFilter.value === "done") === Boolean(r.review))
      .filter((r) => reviewFilter.value !== "todo" || r.band !== "certain")
      .filter((r) => !search.value || r.record.includes(search.value.trim()) || r.partner_ref.includes(search.value.trim()))
      .sort((a, b) => {
        const x = sortKey === "band" ? bandRank(a.band) - bandRank(b.band) : a[sortKey].localeCompare(b[sortKey]);
        return x * sortDir || a.record.localeCompare(b.record);
      });
    count.textContent = t("hits.count", { shown: fmtNumber(Math.min(shown, rows.length)), n: fmtNumber(rows.length), run: data.run });
    const head = [["record", "hits.record"], ["partner", "hits.partner"], ["partner_ref", "hits.partner_ref"], ["band", "hits.band"]].map(
      ([key, label]) =>
        h(
          "th",
          { scope: "col", "aria-sort": sortKey === key ? (sortDir > 0 ? "ascending" : "descending") : "none" },
          h(
            "button",
            {
              type: "button",
              class: "sort",
              onclick: () => {
                sortDir = sortKey === key ? -sortDir : 1;
                sortKey = key;
                draw();
              },
            },
            t(label),
            sortKey === key ? (sortDir > 0 ? " ▲" : " ▼") : "",
          ),
        ),
    );
    head.push(h("th", { scope: "col" }, t("hits.review")));
    head.push(h("th", { scope: "col" }, t("hits.action")));
    const body = rows.slice(0, shown).map((r) =>
      h(
        "tr",
        {},
        h("td", {}, r.record || "—"),
        h("td", {}, r.partner.toUpperCase()),
        h("td", { class: "mono" }, r.partner_ref),
        h("td", {}, band(r.band)),
        h("td", {}, reviewBadge(r)),
        h(
          "td",
          { class: "actions-cell" },
          h("button", { type: "button", class: "small secondary", onclick: () => showExplanation(r) }, t("hits.explain")),
          h("button", { type: "button", class: "small secondary", onclick: () => reviewForm(formArea, data.project, r, (rev) => { r.review = rev; draw(); }) }, t("hits.review_one")),
          h("button", { type: "button", class: "small", onclick: () => requestForm(formArea, data.project, r) }, t("hits.request")),
        ),
      ),
    );
    const more =
      rows.length > shown
        ? h("button", { type: "button", onclick: () => { shown += PAGE_ROWS; draw(); } }, t("hits.more"))
        : null;
    replace(results, table(t("hits.caption", { project: data.project }), head, body, { "data-test": "hits" }), more);
  }

  function showExplanation(r) {
    replace(formArea, explanation(data.weights, r));
    formArea.querySelector("h2").focus();
  }

  async function load() {
    replace(results, status("muted", t("common.loading")));
    try {
      data = await api("GET", `/api/v1/hits?project=${encodeURIComponent(project.value)}`);
    } catch (e) {
      replace(results, status("error", e.message));
      return;
    }
    const partners = [...new Set(data.rows.map((r) => r.partner))].sort();
    replace(partnerFilter, h("option", { value: "" }, t("common.all")), partners.map((p) => h("option", { value: p }, p.toUpperCase())));
    shown = PAGE_ROWS;
    draw();
  }
  project.addEventListener("change", load);
  for (const c of [bandFilter, partnerFilter, reviewFilter]) c.addEventListener("change", () => { shown = PAGE_ROWS; draw(); });
  search.addEventListener("input", () => { shown = PAGE_ROWS; draw(); });
  await load();
}

function requestForm(area, project, hit) {
  const headingId = uid("req");
  const [purposeField, purpose] = field(t("request.purpose"), h("textarea", { rows: 3, maxlength: 1000, required: true }), t("request.purpose_hint"));
  const [offenceField, offence] = field(t("request.offence"), select([["", t("common.choose")], ...OFFENCES.map((o) => [o, tk("offence", o)])], ""));
  const [basisField, basis] = field(t("request.legal_basis"), h("input", { required: true }));
  const [handlingField, handling] = field(t("request.handling"), select(HANDLING.map((c) => [c, `${c} — ${tk("handling", c)}`]), "H2"));
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": headingId, "data-test": "request-form" },
    h("h2", { id: headingId, tabindex: "-1" }, t("request.title")),
    h("p", {}, t("request.about", { partner: hit.partner.toUpperCase(), ref: hit.partner_ref, record: hit.record, project })),
    purposeField,
    offenceField,
    basisField,
    handlingField,
    checkboxes(t("request.fields"), FIELDS, "field"),
    checkboxes(t("request.flags"), FLAGS, "flag"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("request.send")), h("button", { type: "button", class: "secondary", onclick: () => replace(area) }, t("common.cancel"))),
    message,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(message);
    const fields = ticked(form, "field");
    const missing = [];
    if (!purpose.value.trim()) missing.push(t("request.purpose"));
    if (!offence.value) missing.push(t("request.offence"));
    if (!basis.value.trim()) missing.push(t("request.legal_basis"));
    if (!fields.length) missing.push(t("request.fields"));
    if (missing.length) {
      replace(message, status("error", t("request.missing", { fields: missing.join(", ") })));
      return;
    }
    try {
      const sent = await api("POST", "/api/v1/outbox", {
        peer: hit.partner,
        hit: { project, partner_reference: hit.partner_ref },
        purpose: purpose.value.trim(),
        offence: offence.value,
        legal_basis: basis.value.trim(),
        handling: handling.value,
        fields,
        flags: ticked(form, "flag"),
      });
      replace(message, status("ok", t("request.sent", { id: sent.id, peer: sent.peer.toUpperCase() })));
    } catch (e) {
      replace(message, status("error", t("request.failed", { error: e.message })));
    }
  });
  replace(area, form);
  form.querySelector("h2").focus();
}

// ----- inbox -----

async function inboxPage(main) {
  heading(main, "inbox.title");
  const items = await api("GET", "/api/v1/inbox");
  main.appendChild(status("muted", t("inbox.count", { n: fmtNumber(items.length) })));
  for (const item of items) main.appendChild(await inboxItem(item));
}

async function inboxItem(item) {
  const r = item.request;
  const headingId = uid("in");
  const card = h("article", { class: "card", "aria-labelledby": headingId, "data-test": "inbox-item" });
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, t("inbox.from")), h("dd", {}, item.from.toUpperCase()),
    h("dt", {}, t("inbox.received")), h("dd", {}, fmtDate(item.received_at)),
    h("dt", {}, t("inbox.hit")), h("dd", { class: "mono" }, `${r.hit.project} · ${r.hit.partner_reference}`),
    h("dt", {}, t("inbox.officer")), h("dd", {}, r.officer),
    h("dt", {}, t("request.purpose")), h("dd", {}, r.purpose),
    h("dt", {}, t("request.offence")), h("dd", {}, tk("offence", r.offence)),
    h("dt", {}, t("request.legal_basis")), h("dd", {}, r.legal_basis),
    h("dt", {}, t("request.handling")), h("dd", {}, `${r.handling} — ${tk("handling", r.handling)}`),
    h("dt", {}, t("request.flags")), h("dd", {}, (r.flags || []).map((f) => tk("flag", f)).join(", ") || "—"),
  );
  replace(card, h("h2", { id: headingId }, t("inbox.request", { id: item.id.slice(0, 12) })), facts);
  let preview = null;
  let previewError = null;
  try {
    preview = await api("GET", `/api/v1/inbox/${encodeURIComponent(item.id)}/policy`);
  } catch (e) {
    previewError = e.message;
  }
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "decision" });
  if (preview) {
    const withheld = preview.withheld;
    form.appendChild(
      h("p", {}, t("inbox.policy", { allowed: preview.allowed.map((f) => tk("field", f)).join(", ") || "—", days: preview.retention_days })),
    );
    form.appendChild(checkboxes(t("inbox.fields"), r.fields, "field", preview.allowed, withheld));
  } else {
    form.appendChild(status("error", t("inbox.no_preview", { error: previewError })));
  }
  const [reasonField, reason] = field(t("inbox.reason"), h("textarea", { rows: 2, maxlength: 1000 }), t("inbox.reason_hint"));
  const decide = async (body) => {
    try {
      const made = await api("POST", `/api/v1/inbox/${encodeURIComponent(item.id)}/decision`, body);
      const withheld = Object.entries(made.withheld).map(([f, why]) => `${tk("field", f)} (${why})`);
      replace(
        form,
        status(
          "ok",
          made.outcome === "confirmed"
            ? t("inbox.confirmed", { released: made.released.map((f) => tk("field", f)).join(", ") || "—", withheld: withheld.join("; ") || "—" })
            : t("inbox.rejected"),
        ),
      );
    } catch (e) {
      replace(message, status("error", e.message));
    }
  };
  form.append(
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", disabled: !preview, onclick: () => decide({ outcome: "confirm", fields: ticked(form, "field") }) }, t("inbox.confirm")),
    ),
    reasonField,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: () => {
            if (!reason.value.trim()) {
              replace(message, status("error", t("inbox.reason_needed")));
              reason.focus();
              return;
            }
            decide({ outcome: "reject", reason: reason.value.trim() });
          },
        },
        t("inbox.reject"),
      ),
    ),
    message,
  );
  card.appendChild(form);
  return card;
}

// ----- released -----

function value(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string" || typeof v === "number") return String(v);
  if (Array.isArray(v)) return v.map(value).join("; ");
  return Object.entries(v).map(([k, x]) => `${k}: ${value(x)}`).join(", ");
}

async function releasedPage(main) {
  heading(main, "released.title");
  const items = await api("GET", "/api/v1/released");
  main.appendChild(status("muted", t("released.count", { n: fmtNumber(items.length) })));
  for (const item of items) {
    const b = item.body;
    const headingId = uid("rel");
    const released = Object.entries(b.released || {});
    const withheld = Object.entries(b.withheld || {});
    main.appendChild(
      h(
        "article",
        { class: "card", "aria-labelledby": headingId, "data-test": "released-item" },
        h("h2", { id: headingId }, t("released.from", { from: item.from.toUpperCase(), outcome: tk("outcome", item.outcome) })),
        h("p", { class: `handling handling-${item.handling}`, "data-test": "handling" }, `${item.handling} — ${tk("handling", item.handling)}`),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, t("released.request")), h("dd", { class: "mono" }, item.request_id),
          h("dt", {}, t("inbox.hit")), h("dd", { class: "mono" }, `${b.hit.project} · ${b.hit.partner_reference}`),
          h("dt", {}, t("released.received")), h("dd", {}, fmtDate(item.received_at)),
          h("dt", {}, t("released.until")), h("dd", {}, fmtDate(item.retain_until)),
          h("dt", {}, t("released.approver")), h("dd", {}, b.approver),
          b.reason ? [h("dt", {}, t("inbox.reason")), h("dd", {}, b.reason)] : null,
        ),
        released.length
          ? table(t("released.values"), [t("released.field"), t("released.value")],
              released.map(([f, v]) => h("tr", { "data-field": f }, h("th", { scope: "row" }, tk("field", f)), h("td", {}, value(v)))),
              { "data-test": "released-values" })
          : null,
        withheld.length
          ? table(t("released.withheld"), [t("released.field"), t("released.why")],
              withheld.map(([f, why]) => h("tr", { "data-field": f }, h("th", { scope: "row" }, tk("field", f)), h("td", {}, why))),
              { "data-test": "withheld" })
          : null,
      ),
    );
  }
}

// ----- border query -----

async function queryPage(main) {
  heading(main, "query.title");
  const [projectField, project, ids] = await projectChooser(t("query.project"));
  const [givenField, given] = field(t("query.given"), h("input", { autocomplete: "off", required: true }));
  const [s1Field, surname1] = field(t("query.surname1"), h("input", { autocomplete: "off", required: true }));
  const [s2Field, surname2] = field(t("query.surname2"), h("input", { autocomplete: "off" }));
  const [birthField, birth] = field(t("query.birth_date"), h("input", { autocomplete: "off", inputmode: "numeric" }), t("query.birth_hint"));
  const [sexField, sex] = field(t("query.sex"), select([["", "—"], ["F", t("query.sex_f")], ["M", t("query.sex_m")]], ""));
  const [natField, nationality] = field(t("query.nationality"), h("input", { maxlength: 2, autocomplete: "off" }), t("query.nationality_hint"));
  const [kindField, kind] = field(t("query.id_kind"), select(ID_KINDS.map((k) => [k, tk("id", k)]), "passport"));
  const [idField, idValue] = field(t("query.id_value"), h("input", { autocomplete: "off" }));
  const result = h("div", { "aria-live": "polite", "data-test": "query-result" });
  const form = h(
    "form",
    { class: "card", novalidate: true },
    projectField,
    h("div", { class: "grid" }, givenField, s1Field, s2Field, birthField, sexField, natField, kindField, idField),
    h("div", { class: "actions" }, h("button", { type: "submit", disabled: !ids.length }, t("query.submit"))),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!given.value.trim() || !surname1.value.trim()) {
      replace(result, status("error", t("query.missing")));
      return;
    }
    replace(result, status("muted", t("query.asking")));
    const person = { given: given.value.trim(), surname1: surname1.value.trim(), surname2: surname2.value.trim() };
    if (birth.value.trim()) person.birth_date = birth.value.trim();
    if (sex.value) person.sex = sex.value;
    if (nationality.value.trim()) person.nationality = nationality.value.trim();
    if (idValue.value.trim()) person.identifiers = [{ kind: kind.value, value: idValue.value.trim() }];
    try {
      const answer = await api("POST", "/api/v1/query", { project: project.value, person });
      replace(
        result,
        h(
          "div",
          { class: answer.hit ? "verdict hit" : "verdict nohit", role: "status", "data-test": answer.hit ? "hit" : "no-hit" },
          h("p", { class: "big" }, answer.hit ? t("query.hit", { n: answer.matches.length }) : t("query.no_hit")),
          h("p", { class: "muted" }, t("query.took", { ms: fmtNumber(answer.ms) })),
        ),
        answer.matches.length
          ? table(t("query.matches"), [t("hits.partner"), t("hits.partner_ref"), t("hits.band")],
              answer.matches.map((m) => h("tr", {}, h("td", {}, m.partner.toUpperCase()), h("td", { class: "mono" }, m.partner_ref), h("td", {}, band(m.band)))))
          : null,
      );
    } catch (e) {
      replace(result, status("error", e.message));
    }
  });
  main.append(form, result);
}

/** Hash → page: its title key, the roles that may open it, whether the menu lists it. */
export const PAGES = {
  "#/signin": { title: "signin.title", roles: ALL, inNav: false, render: signinPage },
  "#/overview": { title: "overview.title", roles: ALL, inNav: true, render: overviewPage },
  "#/hits": { title: "hits.title", roles: ["analyst"], inNav: true, render: hitsPage },
  "#/outbox": { title: "outbox.title", roles: ["analyst", "officer"], inNav: true, render: outboxPage },
  "#/inbox": { title: "inbox.title", roles: ["approver"], inNav: true, render: inboxPage },
  "#/released": { title: "released.title", roles: ["analyst", "officer"], inNav: true, render: releasedPage },
  "#/query": { title: "query.title", roles: ["officer"], inNav: true, render: queryPage },
  "#/audit": { title: "audit.title", roles: ["approver", "admin"], inNav: true, render: auditPage },
  "#/explorer": { title: "nav.explorer", roles: ["analyst"], inNav: true, render: explorerPage },
};
