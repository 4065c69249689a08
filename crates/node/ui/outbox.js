// The requests this node sent (analysts and officers): to whom, about which hit, why, under
// which handling code, the fields asked for, and where each stands; an answered one links to
// the released data.

import { h } from "./dom.js";
import { t, tk, fmtDate } from "./i18n.js";
import { api } from "./app.js";
import { heading, status, table } from "./widgets.js";

export async function outboxPage(main) {
  const sent = await api("GET", "/api/v1/outbox");
  heading(main, "outbox.title");
  if (!sent.length) {
    main.appendChild(status("muted", t("outbox.none")));
    return;
  }
  const rows = sent.map((s) => {
    const r = s.request;
    return h(
      "tr",
      { "data-status": s.status, "data-id": s.id },
      h("td", { class: "nowrap" }, fmtDate(s.sent_at)),
      h("td", {}, s.peer.toUpperCase()),
      h("td", { class: "mono" }, `${r.hit.project} · ${r.hit.partner_reference}`),
      h("td", {}, r.offence ? tk("offence", r.offence) : "—"),
      h("td", { class: `handling handling-${r.handling}` }, r.handling),
      h("td", {}, (r.fields ?? []).map((f) => tk("field", f)).join(", ")),
      h("td", {}, r.officer),
      h(
        "td",
        {},
        h("span", { class: `badge outbox-${s.status}` }, tk("outbox", s.status)),
        s.status === "answered" ? [" ", h("a", { href: "#/released" }, t("outbox.see_answer"))] : null,
      ),
    );
  });
  main.appendChild(
    h(
      "div",
      { class: "scroll" },
      table(
        t("outbox.caption"),
        [t("outbox.sent"), t("outbox.to"), t("outbox.hit"), t("request.offence"), t("request.handling"), t("request.fields"), t("outbox.officer"), t("outbox.status")],
        rows,
        { "data-test": "outbox" },
      ),
    ),
  );
}
