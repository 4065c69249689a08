// The message catalogues (en.json, es.json), the chosen language, and dates and numbers in the
// viewer's locale.

const catalogues = {};
let current = "en";

export const LANGUAGES = ["en", "es"];

/** Loads both catalogues and picks the saved language, else the browser's. */
export async function loadCatalogues() {
  for (const lang of LANGUAGES) {
    const res = await fetch(`/ui/${lang}.json`, { cache: "no-cache" });
    catalogues[lang] = await res.json();
  }
  const saved = localStorage.getItem("enlace.lang");
  const browser = (navigator.language || "en").slice(0, 2);
  setLang(LANGUAGES.includes(saved) ? saved : LANGUAGES.includes(browser) ? browser : "en");
}

export function lang() {
  return current;
}

export function setLang(lang) {
  current = LANGUAGES.includes(lang) ? lang : "en";
  localStorage.setItem("enlace.lang", current);
  document.documentElement.lang = current;
}

/** A message by key, with {name} placeholders filled from vars. */
export function t(key, vars = {}) {
  const text = catalogues[current]?.[key] ?? catalogues.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** A message for a value of a vocabulary (role, band, offence…), or the value itself. */
export function tk(group, value) {
  const key = `${group}.${value}`;
  return catalogues[current]?.[key] ?? catalogues.en?.[key] ?? String(value);
}

/** A moment (Unix seconds or an RFC 3339 string) in the viewer's locale. */
export function fmtDate(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(current).format(n ?? 0);
}
