// The review page's shared core: language, reviewer, the JSON API, messages, dates, and one
// user action at a time. The review itself is item by item (items.js); the blind second review
// and the settling of disagreements are verdicts on links (links.js).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const MODE = ["second", "settle"].includes(params.get("mode")) ? params.get("mode") : "review";
  const S = { lang: params.get("lang") || localStorage.getItem("cw.lang") || document.documentElement.lang || "ru",
              reviewer: localStorage.getItem("cw.reviewer") || "", fixed: false, busy: false, seq: 0 };
  if (!["ru", "en"].includes(S.lang)) S.lang = "ru";

  // a text of the interface; "{n}" placeholders filled from vars; a key with no text: its last part
  function t(k, vars) {
    const table = window.I18N[S.lang] || window.I18N.en;
    let s = table[k];
    if (s === undefined) s = (window.I18N.en[k] !== undefined ? window.I18N.en[k] : k.replace(/^[a-z]+\./, ""));
    if (vars) Object.entries(vars).forEach(([name, v]) => { s = s.split(`{${name}}`).join(String(v)); });
    return s;
  }
  // a name the data carry, translated by kind: tr("sig", "word_meaning"), tr("org", "build:x.csv")
  function tr(kind, name) {
    name = name == null ? "" : String(name);
    const table = window.I18N[S.lang] || window.I18N.en;
    if (table[`${kind}.${name}`] !== undefined) return table[`${kind}.${name}`];
    const head = name.split(":")[0];
    if (name.includes(":") && table[`${kind}.${head}`] !== undefined) return `${table[`${kind}.${head}`]}: ${name.slice(head.length + 1)}`;
    return name;
  }
  // an event's UTC time as the reader's local date and time
  function fmtDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleString(S.lang === "ru" ? "ru-RU" : "en-GB", { dateStyle: "short", timeStyle: "short" });
  }
  const fmtScore = (v) => (v == null ? "–" : (S.lang === "ru" ? v.toFixed(2).replace(".", ",") : v.toFixed(2)));

  function applyLang() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    $("nav-summary").href = "/summary?lang=" + S.lang;
    if (MODE !== "review") { $("mode-note").hidden = false; $("mode-note").textContent = t(MODE === "second" ? "blindNote" : "settleNote"); }
    document.title = t(MODE === "review" ? "title" : MODE);
  }

  async function api(path, body) {
    const headers = { "X-Reviewer": encodeURIComponent(S.reviewer) };
    const opts = { headers, credentials: "same-origin" };
    if (body !== undefined) {
      Object.assign(headers, { "Content-Type": "application/json", "X-Crosswalk": "1" });
      opts.method = "POST"; opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let data = {};
    try { data = await r.json(); } catch (e) { data = { error: r.statusText }; }
    return { status: r.status, data };
  }

  function say(text, isError) { const m = $("message"); m.textContent = text; m.className = "message" + (isError ? " error" : ""); }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else if (v !== undefined && v !== null) e.setAttribute(k, v);
    });
    kids.flat().forEach((k) => { if (k != null) e.appendChild(k instanceof Node ? k : document.createTextNode(String(k))); });
    return e;
  }

  function fillSelect(sel, options, anyKey) {
    // options: values, or {value, text, level}
    const cur = sel.value;
    sel.textContent = "";
    sel.appendChild(el("option", { value: "", text: t(anyKey) }));
    const values = [];
    options.forEach((o) => {
      const opt = typeof o === "string" ? { value: o, text: o } : o;
      values.push(opt.value);
      sel.appendChild(el("option", { value: opt.value, text: (opt.level === 2 ? "\u00a0\u00a0" : "") + opt.text }));
    });
    sel.value = values.includes(cur) ? cur : "";
  }

  // user actions: body[data-seq] counts finished ones, body[data-idle] is 1 when none is running
  // (tests and the speed benchmark wait on them)
  async function act(fn) {
    S.running = (S.running || 0) + 1;
    document.body.dataset.idle = "0";
    try { await fn(); } finally {
      S.running -= 1; S.seq += 1;
      document.body.dataset.seq = String(S.seq);
      if (!S.running) document.body.dataset.idle = "1";
    }
  }

  function ensureReviewer() {
    if (S.reviewer) return true;
    $("reviewer-dialog").hidden = false; $("reviewer-input").focus();
    return false;
  }

  function showConflict(reason, now) {
    $("conflict").hidden = false;
    $("conflict-reason").textContent = reason;
    $("conflict-now").textContent = now || "";
  }

  // shown in a <details>: the first lines, all of it on a click
  function longText(title, text, lines) {
    text = String(text || "");
    // the preview: list items without their dashes, headings such as «Tasks include -» left out
    const all = text.split("\n").map((s) => s.trim().replace(/^[-–•]\s*/, "")).filter((s) => s && !/[:\-]$/.test(s));
    lines = lines || 3;
    if (all.length <= lines && text.length <= 320) return el("div", { class: "text" }, el("b", { text: title + ": " }), all.join(" · "));
    const d = el("details", { class: "text" });
    d.appendChild(el("summary", {}, el("b", { text: title + ": " }), all.slice(0, lines).join(" · ").slice(0, 320) + ` … (${all.length})`));
    d.appendChild(el("div", { class: "full", text }));
    return d;
  }

  const CW = { $, S, MODE, t, tr, fmtDate, fmtScore, api, say, el, fillSelect, act, ensureReviewer, showConflict,
               longText, applyLang };
  window.CW = CW;

  async function setReviewer() {
    const v = $("reviewer-input").value.trim();
    if (!v) return;
    S.reviewer = v; localStorage.setItem("cw.reviewer", v);
    $("reviewer-name").textContent = v; $("reviewer-dialog").hidden = true;
    if (CW.view.reviewerChanged) await CW.view.reviewerChanged();
  }

  async function init() {
    CW.view = MODE === "review" ? CW.items : CW.links;
    applyLang();
    const { data } = await api("/api/config");
    if (data.reviewer) { S.reviewer = data.reviewer; S.fixed = true; $("change-reviewer").hidden = true; }
    $("reviewer-name").textContent = S.reviewer;
    $("reviewer-save").addEventListener("click", () => act(setReviewer));
    $("reviewer-input").addEventListener("keydown", (e) => { if (e.key === "Enter") act(setReviewer); });
    $("change-reviewer").addEventListener("click", () => { $("reviewer-input").value = S.reviewer; $("reviewer-dialog").hidden = false; $("reviewer-input").focus(); });
    $("lang-toggle").addEventListener("click", () => act(async () => {
      S.lang = S.lang === "ru" ? "en" : "ru"; localStorage.setItem("cw.lang", S.lang); applyLang();
      await CW.view.languageChanged();
    }));
    document.addEventListener("keydown", (e) => {
      const tag = (e.target.tagName || "").toLowerCase();
      if (["input", "select", "textarea"].includes(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (!$("reviewer-dialog").hidden) return;
      // by the key's place, not its letter: the same keys work with a Russian layout
      if (CW.view.key(e.code, e)) e.preventDefault();
    });
    if (!S.reviewer) ensureReviewer();
    await act(() => CW.view.init());
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", init);
})();
