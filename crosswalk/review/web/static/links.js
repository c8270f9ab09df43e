// Verdicts on links: the blind second review (/?mode=second) and the settling of disagreements
// (/?mode=settle). A queue of links, one link in detail, a confirm / r reject by keyboard.
"use strict";
(function () {
  const { $, S, MODE, t, tr, fmtDate, api, say, el, fillSelect, act, ensureReviewer, showConflict } = window.CW;
  const L = { items: [], idx: 0, detail: null };

  function filters() {
    const f = { mode: MODE, q: $("f-q").value, pair: $("f-pair").value, band: $("f-band").value,
                cardinality: $("f-card").value, section: $("f-section").value, status: $("f-status").value, by: $("f-by").value };
    return new URLSearchParams(Object.entries(f).filter(([, v]) => v !== "")).toString() + (f.status === "" ? "&status=" : "");
  }

  const keyText = (k) => `${k[0]}:${k[1]} → ${k[2]}:${k[3]}`;

  async function loadQueue() {
    const { status, data } = await api("/api/queue?" + filters());
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    L.items = data.items;
    fillSelect($("f-pair"), data.pairs, "allPairs");
    fillSelect($("f-section"), data.sections.map((s) => ({ value: s, text: s })), "anySection");
    fillSelect($("f-by"), data.reviewers, "anyReviewer");
    const p = data.progress, done = p.confirmed + p.rejected;
    $("progress-fill").style.width = (p.total ? (100 * done / p.total) : 0) + "%";
    $("progress-text").textContent = `${t("decided")} ${done} ${t("of")} ${p.total} · ${tr("st", "confirmed")} ${p.confirmed} · ${tr("st", "rejected")} ${p.rejected} · ${tr("st", "pending")} ${p.pending}`;
    $("queue-count").textContent = `(${data.total})`;
    L.idx = Math.max(0, Math.min(L.idx, L.items.length - 1));
    renderQueue();
    if (L.items.length) await loadDetail(L.items[L.idx].key);
    else { L.detail = null; $("card").hidden = true; $("empty").hidden = false; }
  }

  function renderQueue() {
    const ol = $("queue"); ol.textContent = "";
    L.items.forEach((it, i) => {
      const li = el("li", { title: `${it.source_title} → ${it.target_title}`,
                            text: `${it.key[1]} → ${it.key[3]}  ${it.score == null ? "–" : it.score.toFixed(2)}  ${it.source_title}` });
      if (i === L.idx) li.className = "current";
      li.addEventListener("click", () => act(() => { L.idx = i; renderQueue(); return loadDetail(it.key); }));
      ol.appendChild(li);
    });
  }

  function side(box, s) {
    box.querySelector(".code").textContent = `${s.scheme} ${s.code}`;
    box.querySelector(".name").textContent = s.title;
    box.querySelector(".path").textContent = s.path.length ? `${t("path")}: ` + s.path.map((p) => `${p.code} ${p.title}`).join(" › ") : "";
    box.querySelector(".notes").textContent = s.notes ? `${t("notes")}: ${s.notes}` : "";
  }

  function row(table, cells, tag) {
    const tr_ = el("tr");
    cells.forEach((c) => tr_.appendChild(el(tag || "td", {}, c)));
    table.appendChild(tr_);
  }

  async function loadDetail(key) {
    const { status, data } = await api(`/api/link?mode=${MODE}&key=` + encodeURIComponent(JSON.stringify(key)));
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    L.detail = data;
    const l = data.link;
    $("empty").hidden = true; $("card").hidden = false;
    $("link-title").textContent = keyText(l.key);
    $("link-status").textContent = l.status ? tr("st", l.status) : "";
    $("link-status").className = "status " + (l.status || "");
    $("link-status").hidden = !l.status;
    $("link-score").textContent = l.score == null ? "–" : l.score.toFixed(3);
    $("link-card").textContent = tr("rel", l.cardinality);
    $("link-updated").textContent = l.updated_by ? `${l.updated_by} ${fmtDate(l.updated_at)}` : "";
    side($("source"), data.source); side($("target"), data.target);
    const ol = $("candidates"); ol.textContent = "";
    data.candidates.forEach((c) => {
      const li = el("li", { text: `${c.target_code} ${c.target_title} (${c.score == null ? "–" : c.score.toFixed(3)})` + (c.status ? ` · ${tr("st", c.status)}` : "") });
      if (c.current) li.className = "current";
      ol.appendChild(li);
    });
    const ev = $("evidence"); ev.textContent = "";
    Object.entries(data.evidence).sort((a, b) => b[1] - a[1]).forEach(([k, v]) => {
      row(ev, [tr("sig", k), v.toFixed(3), el("span", { class: "bar", style: `width:${Math.round(120 * v)}px` })]);
    });
    const hist = $("history"); hist.textContent = "";
    $("history-box").hidden = !data.history;
    if (data.history) {
      row(hist, [t("when"), t("who"), t("action"), t("origin"), t("detail")], "th");
      data.history.forEach((e) => row(hist, [fmtDate(e.ts), e.reviewer, tr("act", e.action), tr("org", e.origin), JSON.stringify(e.detail)]));
    }
    const si = $("second-info");
    if (data.second_review) {
      const s = data.second_review;
      si.hidden = false;
      si.textContent = `${t("first")}: ${tr("st", s.first === "confirm" ? "confirmed" : "rejected")} (${s.first_by}) · ${t("secondR")}: ${tr("st", s.second === "confirm" ? "confirmed" : "rejected")} (${s.second_by})`;
    } else si.hidden = true;
  }

  async function decide(verdict) {
    if (!L.detail || !ensureReviewer() || S.busy) return;
    const l = L.detail.link;
    const body = { key: l.key, version: l.version, action: MODE, verdict };
    S.busy = true;
    try {
      const { status, data } = await api("/api/decide", body);
      if (status === 409) {
        const c = data.current;
        showConflict(data.error, c ? `${keyText(c.key)}: ${tr("st", c.status)} · ${c.updated_by} · ${fmtDate(c.updated_at)}` : "");
        say(""); await loadQueue(); return;
      }
      if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
      $("conflict").hidden = true;
      say(data.outcome === "unchanged" ? t("unchanged") : `${t("applied")}: ${keyText(l.key)}`);
    } finally { S.busy = false; }
    await loadQueue();
  }

  async function next() {
    if (L.idx < L.items.length - 1) L.idx += 1;
    renderQueue();
    if (L.items.length) await loadDetail(L.items[L.idx].key);
  }

  window.CW.links = {
    async init() {
      $("link-filters").hidden = false;
      $("l-keys").textContent = t(MODE === "second" ? "keysBlind" : "keysSettle");
      $("l-accept").addEventListener("click", () => act(() => decide("confirm")));
      $("l-reject").addEventListener("click", () => act(() => decide("reject")));
      $("l-next").addEventListener("click", () => act(next));
      ["f-q", "f-pair", "f-band", "f-card", "f-section", "f-status", "f-by"].forEach((id) =>
        $(id).addEventListener(id === "f-q" ? "input" : "change", () => act(() => { L.idx = 0; return loadQueue(); })));
      if (MODE === "second") $("f-status").hidden = true;
      await loadQueue();
    },
    key(code) {
      if (code === "KeyA") act(() => decide("confirm"));
      else if (code === "KeyR") act(() => decide("reject"));
      else if (code === "KeyN" || code === "KeyJ") act(next);
      else return false;
      return true;
    },
    async languageChanged() {
      $("l-keys").textContent = t(MODE === "second" ? "keysBlind" : "keysSettle");
      if (L.detail) await loadDetail(L.detail.link.key);
    },
    async reviewerChanged() { await loadQueue(); },
  };
})();
