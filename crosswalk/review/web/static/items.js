// Item by item: a queue of source items (or free-text titles), one item with its ranked candidates
// and the context beside each, ONE decision per item — accept the proposal, pick candidate k, type
// a code, split with weights, or no correspondence — and undo (reopen). The server answers a
// decision with the next item of the queue, so it is on screen without a second request.
"use strict";
(function () {
  const { $, S, t, tr, fmtDate, fmtScore, api, say, el, fillSelect, act, ensureReviewer, showConflict, longText } = window.CW;
  const I = { items: [], idx: 0, detail: null, undo: [], split: false, sugg: [], suggIdx: -1, suggSeq: 0 };
  const LIMIT = 100;

  function filters() {
    return { pair: $("i-pair").value, status: $("i-status").value, sgroup: $("i-sgroup").value,
             tgroup: $("i-tgroup").value, q: $("i-q").value };
  }
  const qs = (f) => new URLSearchParams(Object.entries(f)).toString();
  const keyOf = (it) => it.key.join("\u0000");

  // a filter option: the group's name in the reader's language where the page has one, else the data's
  function groupText(o) {
    const table = window.I18N[S.lang] || window.I18N.en;
    if (table[`grp.${o.value}`]) return `${table[`grp.${o.value}`]} (${o.n})`;
    let label = o.label;
    if (["okz2014", "isco08", "isco88"].includes(o.scheme) && o.group.length === 1 && table[`major.${o.group}`]) label = table[`major.${o.group}`];
    return `${o.group} ${label || ""} (${o.n})`.replace("  ", " ");
  }

  function progress(counts) {
    const pair = $("i-pair").value;
    let items = 0, done = 0, nm = 0, open = 0;
    Object.entries(counts || {}).forEach(([p, c]) => {
      if (pair && p !== pair) return;
      if (!pair && c.open === 0) return;        // all pairs: those with something to review
      items += c.items; done += c.decided; nm += c.no_match; open += c.open;
    });
    $("progress-fill").style.width = (items ? 100 * (done + nm) / items : 0) + "%";
    $("progress-text").textContent = `${t("decided")} ${done + nm} ${t("of")} ${items} · ${tr("st", "no_match")} ${nm} · ${t("itemsLeft")} ${open}`;
  }

  async function loadQueue(keepCurrent) {
    const { status, data } = await api(`/api/item-queue?limit=${LIMIT}&` + qs(filters()));
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return false; }
    const cur = I.detail ? I.detail.item.key.join("\u0000") : null;
    I.items = data.items; I.total = data.total;
    fillSelect($("i-pair"), data.pairs.map((p) => ({ value: p, text: `${p.split(":").map((s) => tr("scheme", s)).join(" → ")} (${data.counts[p].open})` })), "allPairs");
    fillSelect($("i-sgroup"), data.source_groups.map((o) => ({ value: o.value, text: groupText(o), level: o.level })), "anySource");
    fillSelect($("i-tgroup"), data.target_groups.map((o) => ({ value: o.value, text: groupText(o), level: o.level })), "anyTarget");
    progress(data.counts);
    $("queue-count").textContent = `(${data.total})`;
    if (keepCurrent && cur) {
      const i = I.items.findIndex((it) => keyOf(it) === cur);
      if (i >= 0) I.idx = i;
    }
    I.idx = Math.max(0, Math.min(I.idx, I.items.length - 1));
    renderQueue();
    return true;
  }

  function renderQueue() {
    const ol = $("queue"); ol.textContent = "";
    const cur = I.detail ? I.detail.item.key.join("\u0000") : null;
    I.items.forEach((it, i) => {
      const p = it.proposal;
      const li = el("li", { title: p ? `${it.title} → ${p.code} ${p.title}` : it.title },
        it.key[0] === "text" ? null : el("span", { class: "code", text: it.key[1] + " " }),   // free text: its title only
        it.title, el("span", { class: "muted", text: p ? `  → ${p.code} ${fmtScore(p.score)}` : "" }),
        it.rows == null ? null : el("span", { class: "rows", text: `  · ${it.rows} ${t("rows")}` }));
      if (keyOf(it) === cur) li.className = "current";
      li.addEventListener("click", () => act(() => { I.idx = i; return loadDetail(it.key); }));
      ol.appendChild(li);
    });
  }

  async function loadDetail(key) {
    const { status, data } = await api("/api/item?key=" + encodeURIComponent(JSON.stringify(key)));
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    render(data);
  }

  function empty() {
    I.detail = null; $("item-card").hidden = true; $("empty").hidden = false;
  }

  // -- one item ------------------------------------------------------------------
  function context(box, d, withTitle) {
    box.textContent = "";
    if (withTitle) box.appendChild(el("div", { class: "ctitle" }, el("span", { class: "code", text: `${d.scheme} ${d.code}` }), " ", el("b", { text: d.title })));
    if (d.path && d.path.length) box.appendChild(el("div", { class: "path", text: `${t("path")}${d.path_scheme ? ` (${tr("scheme", d.path_scheme)})` : ""}: ` + d.path.map((p) => `${p.code} ${p.title}`).join(" › ") }));
    if (d.definition) box.appendChild(longText(t("definition"), d.definition, 2));
    (d.texts || []).forEach((x) => box.appendChild(longText(tr("text", x.name), x.text, 3)));
    if (d.related) {
      const r = d.related;
      const sub = el("div", { class: "related" }, el("div", { class: "muted", text: `${t("related")} ${r.scheme}: ${r.code} ${r.title}` }));
      if (r.definition) sub.appendChild(longText(t("definition"), r.definition, 2));
      (r.texts || []).forEach((x) => sub.appendChild(longText(tr("text", x.name), x.text, 3)));
      box.appendChild(sub);
    }
  }

  function evidence(ev) {
    return el("span", { class: "evidence" }, Object.entries(ev || {}).sort((a, b) => b[1] - a[1]).map(([k, v]) =>
      el("span", { class: "sig", title: k, text: `${tr("sig", k)} ${fmtScore(v)}` })));
  }

  function render(data) {
    I.detail = data;
    const it = data.item;
    I.split = false; $("split-box").hidden = true;
    $("empty").hidden = true; $("item-card").hidden = false;
    $("conflict").hidden = true;
    $("item-title").textContent = "";
    $("item-title").appendChild(el("span", { class: "code", text: it.key[0] === "text" ? "" : `${it.key[0]} ${it.key[1]}` }));
    $("item-title").appendChild(document.createTextNode(` ${it.title} → ${tr("scheme", it.key[2])}`));
    $("item-status").textContent = tr("st", it.status);
    $("item-status").className = "status " + it.status;
    $("item-relation").textContent = it.relation ? `${t("relation")}: ${tr("rel", it.relation)}` : "";
    $("item-rows").textContent = it.rows == null ? "" : `· ${it.rows} ${t("rows")}`;
    $("item-decided").textContent = it.decided_by ? `· ${t("decidedBy")} ${it.decided_by}, ${fmtDate(it.decided_at)}` : "";
    $("item-comment").value = it.comment || "";
    $("btn-reopen").hidden = it.status === "open";
    context($("item-source"), data.source, false);
    $("item-source").hidden = !$("item-source").childNodes.length;
    const ol = $("cands"); ol.textContent = "";
    data.candidates.forEach((c, i) => {
      const n = i + 1;
      const head = el("div", { class: "chead" },
        el("button", { type: "button", class: "pick", "data-n": String(n), title: t("pick"), onclick: () => act(() => pick(n)) }, n <= 9 ? String(n) : "·"),
        " ", el("span", { class: "code", text: c.code }), " ", el("b", { text: c.title }), " ",
        el("span", { class: "score", text: fmtScore(c.score) }), " ",
        el("span", { class: "role " + c.role, text: c.role ? tr("role", c.role) : tr("orole", c.origin) }),
        c.status !== "pending" ? el("span", { class: "status " + c.status, text: tr("st", c.status) }) : null,
        c.weight != null ? el("span", { class: "muted", text: ` ${t("weight")} ${c.weight}` }) : null,
        c.others ? el("span", { class: "muted", text: " · " + t("others", { n: c.others }) }) : null);
      const li = el("li", { class: "cand " + c.status + (c.role === "proposal" ? " proposal" : "") }, head, evidence(c.evidence));
      if ((c.flags || []).length) li.appendChild(el("div", { class: "muted flags", text: c.flags.map((f) => tr("flag", f)).join(" · ") }));
      const box = el("div", { class: "context" });
      context(box, c.target, false);
      li.appendChild(box);
      ol.appendChild(li);
    });
    renderSimilar(data.similar);
    const hist = $("item-history"); hist.textContent = "";
    hist.appendChild(el("tr", {}, [t("when"), t("who"), t("action"), t("target"), t("origin"), t("detail")].map((h) => el("th", { text: h }))));
    data.history.forEach((e) => {
      const d = Object.entries(e.detail).map(([k, v]) => k === "item_decision" ? tr("choice", v) : `${k}: ${v}`).join("; ");
      hist.appendChild(el("tr", {}, [fmtDate(e.ts), e.reviewer, tr("act", e.action), e.target, tr("org", e.origin), d].map((x) => el("td", { text: x }))));
    });
    renderQueue();
    document.body.dataset.item = it.key.join(":");
  }

  function renderSimilar(s) {
    const box = $("similar"); box.textContent = "";
    box.appendChild(el("h3", { text: t("similar") }));
    if (!s || (!s.by_head.length && !s.nearest.length)) { box.appendChild(el("div", { class: "muted", text: t("noSimilar") })); return; }
    if (s.by_head.length) {
      const head = s.head ? s.head.charAt(0).toUpperCase() + s.head.slice(1) : "";
      box.appendChild(el("div", { class: "bhead" }, el("b", { text: t("sameHead", { head }) + ` (${s.same_head}): ` }),
        s.by_head.map((v, i) => el("span", { class: "vote", title: v.examples.join("; ") },
          (i ? " · " : ""), el("span", { class: "code", text: v.target === "-" ? tr("st", "no_match") : v.target }),
          ` ${v.title ? v.title.slice(0, 60) : ""} ×${v.n}`))));
    }
    if (s.nearest.length) {
      box.appendChild(el("div", { class: "muted", text: t("nearest") + ":" }));
      box.appendChild(el("ul", { class: "nearest" }, s.nearest.map((n) => el("li", {},
        `${n.title} → `, n.targets.map((x) => x.code === "-" ? tr("st", "no_match") : `${x.code} ${x.title.slice(0, 50)}`).join(", ")))));
    }
  }

  // -- decisions -------------------------------------------------------------------
  function message(res) {
    const d = res.decided;
    const src = `${d.key[0] === "text" ? "" : d.key[1] + " "}${d.title}`;
    const tg = d.targets.map((x) => `${x.code} ${x.title}` + (x.weight != null && d.targets.length > 1 ? ` (${Math.round(x.weight * 100)} %)` : "")).join(", ");
    const word = { accept: "chosen", pick: "picked", split: "splitDone", no_match: "noMatchDone", reopen: "reopened" }[d.choice];
    if (res.outcome === "unchanged") return `${t("unchanged")}: ${src}`;
    return `${t(word)}: ${src}` + (tg && d.choice !== "reopen" ? ` → ${tg}` : "");
  }

  async function decide(choice, targets) {
    if (!I.detail || !ensureReviewer() || S.busy) return;
    const it = I.detail.item;
    const body = { key: it.key, version: it.version, choice, next: filters() };
    if (targets) body.targets = targets;
    const comment = $("item-comment").value.trim();
    if (comment && choice !== "reopen") body.comment = comment;
    S.busy = true;
    let res;
    try {
      const { status, data } = await api("/api/item/decide", body);
      if (status === 409) {
        const now = data.item.item;
        render(data.item);          // the item as it is now, under the conflict
        showConflict(data.error, `${now.title}: ${tr("st", now.status)}` + (now.decided_by ? ` · ${now.decided_by} · ${fmtDate(now.decided_at)}` : ""));
        say("");
        return;
      }
      if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
      res = data;
    } finally { S.busy = false; }
    say(message(res));
    if (res.undo) I.undo.push(res.undo);
    const done = keyOf(res.decided);
    const status = $("i-status").value;
    if (status && res.item.status !== status) {
      const i = I.items.findIndex((x) => keyOf(x) === done);
      if (i >= 0) { I.items.splice(i, 1); I.total -= 1; }
    }
    progress(res.counts);
    if (res.next) {
      render(res.next);            // the next item on screen first; the queue list follows
      const i = I.items.findIndex((x) => keyOf(x) === keyOf(res.next.item));
      if (i >= 0) I.idx = i;
    } else empty();
    await loadQueue(true);
    if (!res.next && I.items.length) await loadDetail(I.items[I.idx].key);
  }

  async function pick(n) {
    if (!I.detail) return;
    if (I.split) { toggleSplitRow(n); return; }
    const c = I.detail.candidates[n - 1];
    if (!c) return;
    if (n === 1 && c.role === "proposal") await decide("accept");
    else await decide("pick", [[c.code, null]]);
  }

  async function undo() {
    const last = I.undo[I.undo.length - 1];
    if (!last) { say(t("nothingToUndo"), true); return; }
    if (!ensureReviewer() || S.busy) return;
    S.busy = true;
    let status, data;
    try {
      ({ status, data } = await api("/api/item/decide", { key: last.key, version: last.version, choice: "reopen", undo: true, next: filters() }));
    } finally { S.busy = false; }
    if (status === 409) { I.undo.pop(); render(data.item); showConflict(data.error, ""); return; }
    if (status !== 200) { say(`${t("error")}: ${data.error}`, true); return; }
    I.undo.pop();
    say(`${t("undone")}: ${data.decided.key[1]} ${data.decided.title}`);
    progress(data.counts);
    render(data.next);
    await loadQueue(true);
  }

  async function move(step) {
    if (!I.items.length) return;
    const cur = I.detail ? I.items.findIndex((x) => keyOf(x) === I.detail.item.key.join("\u0000")) : -1;
    I.idx = cur < 0 ? 0 : Math.max(0, Math.min(I.items.length - 1, cur + step));
    await loadDetail(I.items[I.idx].key);
  }

  // -- split ----------------------------------------------------------------------
  function splitRows() { return [...$("split-rows").querySelectorAll("tr")]; }

  function addSplitRow(code, title, weight) {
    if (splitRows().some((r) => r.dataset.code === code)) return;
    const input = el("input", { type: "number", min: "0", max: "1", step: "0.05", value: weight == null ? "" : String(weight), "data-code": code });
    input.addEventListener("input", splitSum);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); act(saveSplit); } else if (e.key === "Escape") closeSplit();
    });
    const tr_ = el("tr", {}, el("td", {}, el("span", { class: "code", text: code })), el("td", { text: title }), el("td", {}, input),
      el("td", {}, el("button", { type: "button", text: "×", onclick: () => { tr_.remove(); splitSum(); } })));
    tr_.dataset.code = code;
    $("split-rows").appendChild(tr_);
    splitSum();
  }

  function toggleSplitRow(n) {
    const c = I.detail.candidates[n - 1];
    if (!c) return;
    const r = splitRows().find((x) => x.dataset.code === c.code);
    if (r) { r.remove(); splitSum(); } else addSplitRow(c.code, c.title, null);
  }

  function splitSum() {
    const sum = splitRows().reduce((a, r) => a + (parseFloat(r.querySelector("input").value) || 0), 0);
    $("split-sum").textContent = `${t("sum")} ${S.lang === "ru" ? sum.toFixed(2).replace(".", ",") : sum.toFixed(2)}`;
    $("split-sum").className = Math.abs(sum - 1) < 1e-6 ? "ok" : "muted";
  }

  function closeSplit() { I.split = false; $("split-box").hidden = true; document.activeElement.blur(); }

  function openSplit() {
    if (!I.detail) return;
    I.split = true;
    $("split-box").hidden = false;
    $("split-rows").textContent = "";
    const cs = I.detail.candidates.filter((c) => c.status !== "rejected").slice(0, 2);
    cs.forEach((c) => addSplitRow(c.code, c.title, null));
    equalWeights();
    const first = $("split-rows").querySelector("input");
    if (first) first.focus();
  }

  function equalWeights() {
    const rows = splitRows();
    if (!rows.length) return;
    const each = Math.floor(100 / rows.length) / 100;
    rows.forEach((r, i) => { r.querySelector("input").value = String(i === rows.length - 1 ? +(1 - each * (rows.length - 1)).toFixed(2) : each); });
    splitSum();
  }

  async function saveSplit() {
    const targets = splitRows().map((r) => [r.dataset.code, parseFloat(r.querySelector("input").value)]);
    if (targets.some(([, w]) => !(w >= 0 && w <= 1))) { say(`${t("error")}: ${t("weights")}`, true); return; }
    await decide("split", targets);
  }

  // -- a typed code ---------------------------------------------------------------
  async function suggest() {
    if (!I.detail) return;
    const q = $("code-input").value;
    const seq = ++I.suggSeq;
    const ul = $("suggestions");
    if (!q.trim()) { ul.textContent = ""; I.sugg = []; return; }
    const { status, data } = await api(`/api/suggest?scheme=${encodeURIComponent(I.detail.item.key[2])}&q=${encodeURIComponent(q)}`);
    if (status !== 200 || seq !== I.suggSeq) return;       // a later keystroke answers instead
    I.sugg = data.items; I.suggIdx = data.items.length ? 0 : -1;
    ul.textContent = "";
    data.items.forEach((s, i) => {
      const why = s.kind && s.kind !== "title" ? ` — ${t("matchedBy")} ${tr("kind", s.kind)}: «${s.label.slice(0, 80)}»` : "";
      const li = el("li", { "data-code": s.code, class: i === I.suggIdx ? "current" : "" },
        el("span", { class: "code", text: s.code }), ` ${s.title}`, el("span", { class: "muted", text: why }));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); act(() => useCode(s.code, s.title)); });
      ul.appendChild(li);
    });
  }

  function highlight() {
    [...$("suggestions").children].forEach((li, i) => { li.className = i === I.suggIdx ? "current" : ""; });
  }

  async function useCode(code, title) {
    $("code-input").value = ""; $("suggestions").textContent = ""; I.sugg = [];
    $("code-input").blur();         // the keys decide again
    if (I.split) { addSplitRow(code, title || "", null); return; }
    await decide("pick", [[code, null]]);
  }

  window.CW.items = {
    async init() {
      $("item-filters").hidden = false;
      $("keys").textContent = t("keys");
      const p = new URLSearchParams(location.search);
      if (p.get("q")) $("i-q").value = p.get("q");
      $("btn-accept").addEventListener("click", () => act(() => decide("accept")));
      $("btn-nomatch").addEventListener("click", () => act(() => decide("no_match")));
      $("btn-split").addEventListener("click", () => act(async () => openSplit()));
      $("btn-next").addEventListener("click", () => act(() => move(1)));
      $("btn-prev").addEventListener("click", () => act(() => move(-1)));
      $("btn-undo").addEventListener("click", () => act(undo));
      $("btn-reopen").addEventListener("click", () => act(() => decide("reopen")));
      $("split-equal").addEventListener("click", () => equalWeights());
      $("split-save").addEventListener("click", () => act(saveSplit));
      $("code-input").addEventListener("input", () => act(suggest));
      $("code-input").addEventListener("keydown", (e) => {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          if (I.sugg.length) { I.suggIdx = (I.suggIdx + (e.key === "ArrowDown" ? 1 : -1) + I.sugg.length) % I.sugg.length; highlight(); }
        } else if (e.key === "Enter") {
          e.preventDefault();
          const s = I.sugg[I.suggIdx];
          const typed = $("code-input").value.trim().split(/\s+/)[0];
          act(() => (s ? useCode(s.code, s.title) : typed ? useCode(typed, "") : Promise.resolve()));
        } else if (e.key === "Escape") { $("code-input").blur(); $("suggestions").textContent = ""; }
      });
      // Enter or Escape in the search box: back to the keys that decide
      $("i-q").addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === "Escape") e.target.blur(); });
      ["i-q", "i-pair", "i-status", "i-sgroup", "i-tgroup"].forEach((id) =>
        $(id).addEventListener(id === "i-q" ? "input" : "change", () => act(async () => {
          I.idx = 0;
          if (await loadQueue(false)) { if (I.items.length) await loadDetail(I.items[0].key); else empty(); }
        })));
      if (await loadQueue(false)) { if (I.items.length) await loadDetail(I.items[0].key); else empty(); }
    },
    key(code) {
      if (I.split) {       // splitting: digits add or drop a candidate, Enter saves, Escape leaves
        if (code === "Escape") closeSplit();
        else if (/^Digit[1-9]$/.test(code)) act(() => pick(Number(code.slice(5))));
        else if (code === "Enter") act(saveSplit);
        else return false;
        return true;
      }
      if (code === "KeyA" || code === "Digit1") act(() => decide("accept"));
      else if (/^Digit[1-9]$/.test(code)) act(() => pick(Number(code.slice(5))));
      else if (code === "KeyX") act(() => decide("no_match"));
      else if (code === "KeyS") act(async () => openSplit());
      else if (code === "KeyC" || code === "Slash") { $("code-input").focus(); }
      else if (code === "KeyN" || code === "KeyJ") act(() => move(1));
      else if (code === "KeyP" || code === "KeyK") act(() => move(-1));
      else if (code === "KeyU") act(undo);
      else return false;
      return true;
    },
    async languageChanged() {
      $("keys").textContent = t("keys");
      await loadQueue(true);
      if (I.detail) render(I.detail);
    },
    async reviewerChanged() { I.undo = []; await loadQueue(true); },
  };
})();
