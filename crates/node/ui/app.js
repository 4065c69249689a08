// The single page: session, calls to the node's API, the router and the header. The session
// token lives in sessionStorage (gone when the tab closes) and travels only as
// `Authorization: Bearer`, never in a URL.

import { h, replace } from "./dom.js";
import { loadCatalogues, lang, setLang, t, tk } from "./i18n.js";
import { PAGES } from "./pages.js";

const TOKEN = "enlace.token";
const USER = "enlace.user";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The signed-in person ({name, role, node}) or null. */
export function session() {
  const token = sessionStorage.getItem(TOKEN);
  const user = sessionStorage.getItem(USER);
  if (!token || !user) return null;
  try {
    return JSON.parse(user);
  } catch {
    return null;
  }
}

function forget() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
}

/** Calls the node's API; throws ApiError with the server's message on failure. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 401 && token) {
    forget();
    go("#/signin");
    throw new ApiError(401, t("error.session"));
  }
  if (!res.ok) throw new ApiError(res.status, serverMessage(data, res.statusText));
  return data;
}

/**
 * The server's error in the reader's language: its stable code's message where the catalogue
 * has one (`server.<code>`), else the server's own words.
 */
function serverMessage(data, fallback) {
  const key = data?.code ? `server.${data.code}` : null;
  if (key && t(key) !== key) return t(key);
  return data?.error ?? fallback;
}

/**
 * Downloads a file the API serves (CSV, GraphML…) with the session token, which never goes in a
 * URL: fetched, then handed to the browser as a Blob under `name`. Returns the Blob.
 */
export async function download(path, name) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = serverMessage(await res.json(), message);
    } catch {
      // Not JSON: the status text says it.
    }
    throw new ApiError(res.status, message);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob;
}

export async function signIn(name, password) {
  const created = await api("POST", "/api/v1/session", { name, password });
  sessionStorage.setItem(TOKEN, created.token);
  const me = await api("GET", "/api/v1/me");
  sessionStorage.setItem(USER, JSON.stringify({ name: me.name, role: me.role, node: me.node }));
}

async function signOut() {
  try {
    await api("DELETE", "/api/v1/session");
  } catch {
    // The session may have expired already; it is forgotten here either way.
  }
  forget();
  go("#/signin");
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function header(me) {
  document.getElementById("skip").textContent = t("nav.skip");
  document.getElementById("lang-label").textContent = t("nav.language");
  document.getElementById("brand").textContent = "Enlace";
  document.getElementById("node").textContent = me ? me.node.toUpperCase() : "";
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav.main"));
  const current = location.hash.split("?")[0] || "#/overview";
  const links = me
    ? Object.entries(PAGES)
        .filter(([, p]) => p.inNav && p.roles.includes(me.role))
        .map(([hash, p]) =>
          h("a", { href: hash, "aria-current": hash === current ? "page" : false }, t(p.title)),
        )
    : [];
  replace(nav, h("ul", {}, links.map((a) => h("li", {}, a))));
  const who = document.getElementById("who");
  who.textContent = me ? `${me.name} · ${tk("role", me.role)}` : "";
  const out = document.getElementById("signout");
  out.textContent = t("nav.signout");
  out.hidden = !me;
}

async function render() {
  const me = session();
  let hash = location.hash.split("?")[0];
  if (!me && hash !== "#/signin") hash = "#/signin";
  if (me && (hash === "" || hash === "#/" || hash === "#/signin")) hash = "#/overview";
  if (hash !== location.hash.split("?")[0]) {
    history.replaceState(null, "", hash);
  }
  header(me);
  const page = PAGES[hash] ?? PAGES["#/overview"];
  const main = document.getElementById("main");
  document.title = `${t(page.title)} · Enlace`;
  // Each render draws into a container of its own: a page still loading when the person moves
  // on finishes into a container no longer shown, instead of over the page now shown.
  const view = h("div", { class: "view" });
  replace(main, view);
  if (me && !page.roles.includes(me.role)) {
    replace(
      view,
      h("h1", {}, t(page.title)),
      h("p", { class: "error", role: "alert" }, t("error.role", { role: tk("role", me.role) })),
    );
    return;
  }
  replace(view, h("h1", {}, t(page.title)), h("p", { class: "muted" }, t("common.loading")));
  try {
    await page.render(view, me);
  } catch (e) {
    view.appendChild(h("p", { class: "error", role: "alert" }, e.message));
  }
}

async function start() {
  await loadCatalogues();
  const chooser = document.getElementById("lang");
  chooser.value = lang();
  chooser.addEventListener("change", () => {
    setLang(chooser.value);
    render();
  });
  document.getElementById("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", render);
  await render();
}

start();
