// The review page: a queue of links, one link in detail, keyboard decisions.
// Every write is a POST to the server, which records it through the review store.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const MODE = ["second", "settle"].includes(params.get("mode")) ? params.get("mode") : "review";
  const S = { lang: localStorage.getItem("cw.lang") || document.documentElement.lang || "en",
              reviewer: localStorage.getItem("cw.reviewer") || "", fixed: false,
              items: [], total: 0, idx: 0, detail: null, undo: [], pinned: null, busy: false };

  const t = (k) => (window.I18N[S.lang] || window.I18N.en)[k] || k;

  function applyLang() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    $("nav-summary").href = "/summary?lang=" + S.lang;
    $("keys").textContent = t(MODE === "second" ? "keysBlind" : MODE === "settle" ? "keysSettle" : "keys");
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

  function filters() {
    const f = { mode: MODE, q: $("f-q").value, pair: $("f-pair").value, band: $("f-band").value,
                cardinality: $("f-card").value, section: $("f-section").value, status: $("f-status").value, by: $("f-by").value };
    return new URLSearchParams(Object.entries(f).filter(([, v]) => v !== "" || false)).toString()
      + (f.status === "" ? "&status=" : "");
  }

  function fillSelect(sel, values, anyKey) {
    const cur = sel.value;
    sel.textContent = "";
    const any = document.createElement("option"); any.value = ""; any.textContent = t(anyKey); sel.appendChild(any);
    values.forEach((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o); });
    sel.value = values.includes(cur) ? cur : "";
  }

  const keyText = (k) => `${k[0]}:${k[1]} → ${k[2]}:${k[3]}`;
  const same = (a, b) => a && b && a.join("\u0000") === b.join("\u0000");

  async function loadQueue(keepKey) {
    const { status, data } = await api("/api/queue?" + filters());
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    S.items = data.items; S.total = data.total;
    fillSelect($("f-pair"), data.pairs, "allPairs");
    fillSelect($("f-section"), data.sections, "anySection");
    fillSelect($("f-by"), data.reviewers, "anyReviewer");
    const p = data.progress, done = p.confirmed + p.rejected;
    $("progress-fill").style.width = (p.total ? (100 * done / p.total) : 0) + "%";
    $("progress-text").textContent = `${t("decided")} ${done} ${t("of")} ${p.total} · ${t("confirmed")} ${p.confirmed} · ${t("rejected")} ${p.rejected} · ${t("pending")} ${p.pending}`;
    $("queue-count").textContent = `(${data.total})`;
    if (keepKey) { const i = S.items.findIndex((it) => same(it.key, keepKey)); if (i >= 0) S.idx = i; }
    S.idx = Math.max(0, Math.min(S.idx, S.items.length - 1));
    renderQueue();
    if (S.pinned) { await loadDetail(S.pinned); return; }
    if (S.items.length) await loadDetail(S.items[S.idx].key);
    else { S.detail = null; $("card").hidden = true; $("empty").hidden = false; }
  }

  function renderQueue() {
    const ol = $("queue"); ol.textContent = "";
    S.items.forEach((it, i) => {
      const li = document.createElement("li");
      li.textContent = `${it.key[1]} → ${it.key[3]}  ${it.score == null ? "–" : it.score.toFixed(2)}  ${it.source_title}`
        + (it.rows == null ? "" : `  · ${it.rows} ${t("rows")}`);
      li.title = `${it.source_title} → ${it.target_title}`;
      if (i === S.idx && !S.pinned) li.className = "current";
      li.addEventListener("click", () => act(() => { S.pinned = null; S.idx = i; renderQueue(); return loadDetail(it.key); }));
      ol.appendChild(li);
    });
  }

  function side(el, s) {
    el.querySelector(".code").textContent = `${s.scheme} ${s.code}`;
    el.querySelector(".name").textContent = s.title;
    el.querySelector(".path").textContent = s.path.length ? `${t("path")}: ` + s.path.map((p) => `${p.code} ${p.title}`).join(" › ") : "";
    el.querySelector(".notes").textContent = s.notes ? `${t("notes")}: ${s.notes}` : "";
  }

  function row(table, cells, tag) {
    const tr = document.createElement("tr");
    cells.forEach((c) => { const td = document.createElement(tag || "td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c; tr.appendChild(td); });
    table.appendChild(tr);
  }

  function others() { return S.detail ? S.detail.candidates.filter((c) => !c.current) : []; }

  async function loadDetail(key) {
    const { status, data } = await api(`/api/link?mode=${MODE}&key=` + encodeURIComponent(JSON.stringify(key)));
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    S.detail = data;
    const l = data.link;
    $("empty").hidden = true; $("card").hidden = false;
    $("link-title").textContent = keyText(l.key);
    $("link-status").textContent = l.status ? t(l.status) : "";
    $("link-status").className = "status " + (l.status || "");
    $("link-status").hidden = !l.status;
    $("link-score").textContent = l.score == null ? "–" : l.score.toFixed(3);
    $("link-card").textContent = l.cardinality;
    $("link-updated").textContent = l.updated_by ? `${l.updated_by} ${l.updated_at || ""}` : "";
    side($("source"), data.source); side($("target"), data.target);
    const ol = $("candidates"); ol.textContent = "";
    const cands = [data.candidates.find((c) => c.current)].concat(others());
    cands.forEach((c, i) => {
      const li = document.createElement("li");
      li.textContent = `${c.target_code} ${c.target_title} (${c.score == null ? "–" : c.score.toFixed(3)})` + (c.status ? ` · ${t(c.status)}` : "");
      if (c.current) li.className = "current";
      else if (MODE === "review" && i <= 2) {
        const b = document.createElement("button"); b.type = "button"; b.textContent = `${t("pick")} ${i + 1}`;
        b.className = "pick"; b.dataset.n = String(i + 1); b.addEventListener("click", () => act(() => pick(i + 1)));
        li.appendChild(document.createTextNode(" ")); li.appendChild(b);
      }
      ol.appendChild(li);
    });
    const ev = $("evidence"); ev.textContent = "";
    Object.entries(data.evidence).sort((a, b) => b[1] - a[1]).forEach(([k, v]) => {
      const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = Math.round(120 * v) + "px";
      row(ev, [k, v.toFixed(3), bar]);
    });
    const hist = $("history"); hist.textContent = "";
    $("history-box").hidden = !data.history;
    if (data.history) {
      row(hist, [t("when"), t("who"), t("action"), t("origin"), t("detail")], "th");
      data.history.forEach((e) => row(hist, [e.ts, e.reviewer, e.action, e.origin, JSON.stringify(e.detail)]));
    }
    const si = $("second-info");
    if (data.second_review) {
      const s = data.second_review;
      si.hidden = false;
      si.textContent = `${t("first")}: ${s.first} (${s.first_by}) · ${t("secondR")}: ${s.second} (${s.second_by})`;
    } else si.hidden = true;
    $("btn-undo").hidden = MODE !== "review";
  }

  function showConflict(data) {
    $("conflict").hidden = false;
    $("conflict-reason").textContent = data.error;
    const c = data.current;
    $("conflict-now").textContent = c ? `${keyText(c.key)}: ${t(c.status)} · ${c.updated_by} · ${c.updated_at} (v${c.version})` : "";
  }

  async function send(path, body, okText) {
    if (S.busy) return null;
    S.busy = true;
    try {
      const { status, data } = await api(path, body);
      if (status === 409) { showConflict(data); say(""); await loadQueue(S.detail && S.detail.link.key); return null; }
      if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return null; }
      $("conflict").hidden = true;
      say(data.outcome === "unchanged" ? t("unchanged") : okText);
      return data;
    } finally { S.busy = false; }
  }

  async function decide(action, extra) {
    if (!S.detail || !ensureReviewer()) return;
    const l = S.detail.link;
    let body = { key: l.key, version: l.version, action };
    if (MODE === "second") body = { key: l.key, version: l.version, action: "second", verdict: action };
    else if (MODE === "settle") body = { key: l.key, version: l.version, action: "settle", verdict: action };
    Object.assign(body, extra || {});
    const data = await send("/api/decide", body, `${t("applied")}: ${keyText(l.key)}`);
    if (!data) return;
    if (data.undo) S.undo.push(data.undo);
    S.pinned = null;
    await loadQueue();
  }

  async function pick(n) {
    if (MODE !== "review") return;
    const c = others()[n - 2];
    // the candidate's version as shown: someone rejecting it meanwhile makes this a conflict
    if (c) await decide("retarget", { new_target: c.target_code, target_version: c.version });
  }

  // another target than the candidates: any code the store (or the loaded classification) knows,
  // found by code or by words of its title
  async function suggest() {
    if (!S.detail) return;
    const scheme = S.detail.link.key[2];
    const q = $("retarget-input").value;
    const { status, data } = await api(`/api/items?scheme=${encodeURIComponent(scheme)}&q=${encodeURIComponent(q)}`);
    if (status !== 200) return;
    const dl = $("retarget-options"); dl.textContent = "";
    data.items.forEach((it) => { const o = document.createElement("option"); o.value = `${it.code} ${it.title}`; dl.appendChild(o); });
  }

  async function retargetTyped() {
    if (MODE !== "review") return;
    const code = $("retarget-input").value.trim().split(/\s+/)[0];
    if (!code) return;
    const known = (S.detail.candidates || []).find((c) => c.target_code === code);
    await decide("retarget", { new_target: code, target_version: known ? known.version : null });
    $("retarget-input").value = "";
  }

  async function undo() {
    if (MODE !== "review") { say(t("noUndoBlind"), true); return; }
    const steps = S.undo[S.undo.length - 1];
    if (!steps) { say(t("nothingToUndo"), true); return; }
    const data = await send("/api/undo", { steps }, t("undone"));
    if (!data) return;
    S.undo.pop();
    S.pinned = steps[0].key;   // show the link again so it can be decided anew
    await loadQueue();
  }

  async function next() {
    // from a link shown out of turn (after an undo) back to the queue; else one further
    if (S.pinned) S.pinned = null;
    else if (S.idx < S.items.length - 1) S.idx += 1;
    renderQueue();
    if (S.items.length) await loadDetail(S.items[S.idx].key);
  }

  // one user action at a time; body[data-seq] counts finished actions (tests wait on it)
  async function act(fn) {
    document.body.dataset.idle = "0";
    try { await fn(); } finally {
      S.seq = (S.seq || 0) + 1; document.body.dataset.seq = String(S.seq); document.body.dataset.idle = "1";
    }
  }

  function ensureReviewer() {
    if (S.reviewer) return true;
    $("reviewer-dialog").hidden = false; $("reviewer-input").focus();
    return false;
  }

  async function setReviewer() {
    const v = $("reviewer-input").value.trim();
    if (!v) return;
    S.reviewer = v; localStorage.setItem("cw.reviewer", v);
    $("reviewer-name").textContent = v; $("reviewer-dialog").hidden = true;
    S.undo = [];   // undo belongs to the reviewer who decided
    await loadQueue();
  }

  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === "a") act(() => decide("confirm"));
    else if (k === "r") act(() => decide("reject"));
    else if (k === "2" || k === "3") act(() => pick(Number(k)));
    else if (k === "n" || k === "j") act(next);
    else if (k === "u") act(undo);
    else return;
    e.preventDefault();
  });

  async function init() {
    applyLang();
    const { data } = await api("/api/config");
    if (data.reviewer) { S.reviewer = data.reviewer; S.fixed = true; $("change-reviewer").hidden = true; }
    $("reviewer-name").textContent = S.reviewer;
    $("btn-accept").addEventListener("click", () => act(() => decide("confirm")));
    $("btn-reject").addEventListener("click", () => act(() => decide("reject")));
    $("btn-next").addEventListener("click", () => act(next));
    $("btn-undo").addEventListener("click", () => act(undo));
    $("btn-retarget").addEventListener("click", () => act(retargetTyped));
    $("retarget-input").addEventListener("input", () => act(suggest));
    $("retarget-input").addEventListener("keydown", (e) => { if (e.key === "Enter") act(retargetTyped); });
    $("retarget-box").hidden = MODE !== "review";
    $("reviewer-save").addEventListener("click", () => act(setReviewer));
    $("reviewer-input").addEventListener("keydown", (e) => { if (e.key === "Enter") act(setReviewer); });
    $("change-reviewer").addEventListener("click", () => { $("reviewer-input").value = S.reviewer; $("reviewer-dialog").hidden = false; $("reviewer-input").focus(); });
    $("lang-toggle").addEventListener("click", () => {
      S.lang = S.lang === "ru" ? "en" : "ru"; localStorage.setItem("cw.lang", S.lang); applyLang();
      fillSelect($("f-pair"), [...$("f-pair").options].slice(1).map((o) => o.value), "allPairs");
      if (S.detail) loadDetail(S.detail.link.key);
    });
    ["f-q", "f-pair", "f-band", "f-card", "f-section", "f-status", "f-by"].forEach((id) =>
      $(id).addEventListener(id === "f-q" ? "input" : "change", () => act(() => { S.idx = 0; S.pinned = null; return loadQueue(); })));
    if (MODE === "second") $("f-status").hidden = true;
    if (!S.reviewer) ensureReviewer();
    await act(loadQueue);
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", init);
})();
