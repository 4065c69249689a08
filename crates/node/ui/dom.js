// Building the page from data without ever parsing data as HTML: text goes in as text.

/** An element: h("p", {class: "x"}, "text", child, [more children]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = v;
    } else if (k in el && typeof v !== "string") {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A fresh element id (for labels). */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled form control: returns [wrapper, control]. */
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hid = uid("hint");
    control.setAttribute("aria-describedby", hid);
    parts.push(h("span", { class: "hint", id: hid }, hint));
  }
  return [h("div", { class: "field" }, parts), control];
}

/** A select with [value, text] options. */
export function select(options, value) {
  const s = h("select", {});
  for (const [v, text] of options) {
    const o = h("option", { value: v }, text);
    if (v === value) o.selected = true;
    s.appendChild(o);
  }
  return s;
}
