// Small pieces every page draws with: the page heading, a status line, a captioned table.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

export function heading(main, title) {
  replace(main, h("h1", {}, t(title)));
}

export function status(kind, text) {
  return h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
}

export function table(caption, head, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((c) => (c instanceof Node ? c : h("th", { scope: "col" }, c))))),
    h("tbody", {}, rows),
  );
}
