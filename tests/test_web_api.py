"""The review app's HTTP API: a real server on a free port in a thread, driven with urllib."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from crosswalk.review import Decision, LinkKey, ReviewStore
from crosswalk.review.web import make_server, preferred_lang, start_in_thread
from crosswalk.review.web.data import REOPEN

# source -> [(target, score)]: 01.11 is the most uncertain (gap 0.02), then 10.11 (0.2),
# then the single 47.11 (gap 0.55, low score), then 62.01 (gap 0.65)
PROPOSALS = {"01.11": [("01.11", 0.62), ("01.12", 0.60), ("01.13", 0.30)],
             "10.11": [("10.11", 0.70), ("10.12", 0.50)],
             "47.11": [("47.11", 0.55)],
             "62.01": [("62.01", 0.95), ("62.02", 0.30)]}
QUEUE_ORDER = [("01.11", "01.11"), ("01.11", "01.12"), ("01.11", "01.13"), ("10.11", "10.11"),
               ("10.11", "10.12"), ("47.11", "47.11"), ("62.01", "62.01"), ("62.01", "62.02")]


def K(src: str, tgt: str) -> LinkKey:
    return LinkKey("okved2", src, "nace2", tgt)


def make_store(path) -> None:
    with ReviewStore(path) as s:
        s.propose([{"key": K(src, tgt), "score": sc, "evidence": {"title": sc, "structure": 0.5},
                    "source_title": f"деятельность {src}", "target_title": f"activity {tgt}"}
                   for src, cands in PROPOSALS.items() for tgt, sc in cands])


class Client:
    def __init__(self, base: str, reviewer: str | None = "anna", **headers):
        self.base, self.reviewer, self.headers = base, reviewer, headers

    def call(self, path: str, body=None, headers=None):
        h = dict(self.headers)
        if self.reviewer:
            h["X-Reviewer"] = quote(self.reviewer)
        data = None
        if body is not None:
            h.update({"Content-Type": "application/json", "X-Crosswalk": "1"})
            data = json.dumps(body).encode()
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw, status, rh = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            raw, status, rh = e.read(), e.code, e.headers
        ctype = rh.get("Content-Type", "")
        return status, (json.loads(raw) if ctype.startswith("application/json") else raw.decode()), rh

    def queue(self, **q):
        qs = "&".join(f"{k}={quote(str(v))}" for k, v in q.items())
        status, data, _ = self.call("/api/queue?" + qs)
        assert status == 200, data
        return data

    def link(self, key: LinkKey, mode: str = "review"):
        k = quote(json.dumps([key.source_scheme, key.source_code, key.target_scheme, key.target_code]))
        status, data, _ = self.call(f"/api/link?mode={mode}&key={k}")
        assert status == 200, data
        return data

    def decide(self, key: LinkKey, action: str, version: int, **extra):
        body = {"key": [key.source_scheme, key.source_code, key.target_scheme, key.target_code],
                "action": action, "version": version, **extra}
        return self.call("/api/decide", body)[:2]


@pytest.fixture
def served(tmp_path):
    path = tmp_path / "review.sqlite"
    make_store(path)
    server = make_server(path, port=0)
    start_in_thread(server)
    try:
        yield path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def keys(items):
    return [(it["key"][1], it["key"][3]) for it in items]


def test_queue_is_ordered_by_uncertainty_and_filtered(served):
    _, base = served
    c = Client(base)
    q = c.queue()
    assert keys(q["items"]) == QUEUE_ORDER
    assert q["progress"] == {"total": 8, "pending": 8, "confirmed": 0, "rejected": 0}
    # sections, never one option per code: OKVED2 01/10/47/62 are in sections A, C, G, J
    assert q["pairs"] == ["okved2:nace2"] and q["sections"] == ["A", "C", "G", "J"]
    assert keys(c.queue(band="high")["items"]) == [("62.01", "62.01")]
    assert keys(c.queue(band="low")["items"]) == [("01.11", "01.13"), ("62.01", "62.02")]
    assert keys(c.queue(section="C")["items"]) == [("10.11", "10.11"), ("10.11", "10.12")]
    assert keys(c.queue(q="ACTIVITY 47")["items"]) == [("47.11", "47.11")]
    assert keys(c.queue(cardinality="alternative")["items"]) == [
        ("01.11", "01.12"), ("01.11", "01.13"), ("10.11", "10.12"), ("62.01", "62.02")]
    assert c.queue(pair="okz2014:isco08")["total"] == 0
    assert c.queue(limit=3, offset=6)["items"][0]["key"][1] == "62.01"


def test_detail_shows_both_sides_candidates_evidence_and_history(served):
    _, base = served
    d = Client(base).link(K("01.11", "01.12"))
    assert d["source"]["title"] == "деятельность 01.11" and d["target"]["title"] == "activity 01.12"
    assert [c["target_code"] for c in d["candidates"]] == ["01.11", "01.12", "01.13"]
    assert [c["current"] for c in d["candidates"]] == [False, True, False]
    assert d["evidence"] == {"structure": 0.5, "title": 0.6}
    assert [e["action"] for e in d["history"]] == ["propose"]


def test_decide_records_through_the_store(served):
    path, base = served
    c = Client(base)
    v = c.link(K("01.11", "01.11"))["link"]["version"]
    status, res = c.decide(K("01.11", "01.11"), "confirm", v)
    assert status == 200 and res["outcome"] == "applied"
    assert res["undo"] == [{"key": ["okved2", "01.11", "nace2", "01.11"], "before": "pending",
                            "version": res["links"][0]["version"]}]
    assert ("01.11", "01.11") not in keys(c.queue()["items"])
    assert c.queue()["progress"]["confirmed"] == 1
    with ReviewStore(path, create=False) as s:
        st = s.get(K("01.11", "01.11"))
        assert (st.status, st.updated_by) == ("confirmed", "anna")
        ev = s.history(K("01.11", "01.11"))[-1]
        assert (ev.action, ev.origin, ev.reviewer) == ("confirm", "browser", "anna")
    # the same decision again (e.g. a double click): unchanged, no new event
    status, res = c.decide(K("01.11", "01.11"), "confirm", v)
    assert status == 200 and res["outcome"] == "unchanged"


def test_stale_version_from_a_second_tab_is_a_409_and_nothing_is_lost(served):
    path, base = served
    tab1, tab2 = Client(base, "anna"), Client(base, "boris")
    key = K("10.11", "10.11")
    seen1, seen2 = tab1.link(key)["link"]["version"], tab2.link(key)["link"]["version"]
    assert seen1 == seen2
    assert tab1.decide(key, "reject", seen1)[0] == 200
    status, res = tab2.decide(key, "confirm", seen2)
    assert status == 409
    assert "changed since you saw it" in res["error"] and res["current"]["status"] == "rejected"
    assert res["current"]["updated_by"] == "anna"
    with ReviewStore(path, create=False) as s:
        assert s.get(key).status == "rejected"
        assert [e.action for e in s.history(key)] == ["propose", "reject"]
    # deciding again against the version now shown works
    assert tab2.decide(key, "confirm", res["current"]["version"])[0] == 200


def test_pick_a_candidate_then_undo_with_compensating_events(served):
    path, base = served
    c = Client(base)
    old, new = K("01.11", "01.11"), K("01.11", "01.12")
    v = c.link(old)["link"]["version"]
    status, res = c.decide(old, "retarget", v, new_target="01.12", target_version=c.link(new)["link"]["version"])
    assert status == 200
    with ReviewStore(path, create=False) as s:
        assert (s.get(old).status, s.get(new).status) == ("rejected", "confirmed")
        n_events = len(s.events())
    status, undone = c.call("/api/undo", {"steps": res["undo"]})[:2]
    assert status == 200 and undone["outcome"] == "applied"
    with ReviewStore(path, create=False) as s:
        # undo appends events (never deletes): both links were pending; the store cannot go back
        # to pending, so each gets the inverse of what the pick did (unless it has "reopen")
        want = ("pending", "pending") if REOPEN else ("confirmed", "rejected")
        assert (s.get(old).status, s.get(new).status) == want
        assert len(s.events()) == n_events + 2
        assert s.history(new)[-1].origin == "browser:undo"
    # undoing twice never changes anything a second time: with "reopen" both links are
    # already pending (nothing to do); without it the versions moved on (a conflict)
    status, again = c.call("/api/undo", {"steps": res["undo"]})[:2]
    if REOPEN:
        assert status == 200 and again["outcome"] == "unchanged"
    else:
        assert status == 409
    with ReviewStore(path, create=False) as s:
        assert len(s.events()) == n_events + 2


def test_picking_a_candidate_another_reviewer_just_rejected_is_a_409(served):
    """The page shows candidate 01.12 at version v; boris rejects it; anna then picks it: a
    conflict naming the rejection, and neither link changes (before: the rejection was
    silently overturned because only the old link's version was checked)."""
    path, base = served
    anna, boris = Client(base), Client(base, "boris")
    old, new = K("01.11", "01.11"), K("01.11", "01.12")
    page = anna.link(old)
    seen = next(c["version"] for c in page["candidates"] if c["target_code"] == "01.12")
    assert boris.decide(new, "reject", boris.link(new)["link"]["version"], comment="не то")[0] == 200
    with ReviewStore(path, create=False) as s:
        before = s.snapshot()
    status, res = anna.decide(old, "retarget", page["link"]["version"], new_target="01.12", target_version=seen)
    assert status == 409 and "01.12" in res["error"] and "boris" in res["error"]
    assert res["current"]["status"] == "rejected" and res["current"]["key"][3] == "01.12"
    # a typed code the page knew no link for, although one exists: a conflict too
    status, res = anna.decide(old, "retarget", page["link"]["version"], new_target="01.12")
    assert status == 409 and "already exists" in res["error"]
    status, res = anna.decide(old, "retarget", page["link"]["version"], new_target="01.12", target_version="7")
    assert status == 400
    with ReviewStore(path, create=False) as s:
        assert s.snapshot() == before and s.get(new).status == "rejected" and s.get(old).status == "pending"


def test_undo_restores_an_earlier_status(tmp_path):
    path = tmp_path / "r.sqlite"
    make_store(path)
    key = K("62.01", "62.01")
    with ReviewStore(path) as s:
        s.decide([Decision(key, "confirm", s.get(key).version)], reviewer="anna")
    server = make_server(path)
    start_in_thread(server)
    try:
        c = Client(f"http://127.0.0.1:{server.server_address[1]}", "boris")
        status, res = c.decide(key, "reject", c.link(key)["link"]["version"])
        assert status == 200
        assert res["undo"][0]["before"] == "confirmed"
        assert c.call("/api/undo", {"steps": res["undo"]})[0] == 200
        with ReviewStore(path, create=False) as s:
            assert s.get(key).status == "confirmed"
    finally:
        server.shutdown()
        server.server_close()


def test_writes_need_a_reviewer_and_the_page_header(served):
    _, base = served
    key = K("47.11", "47.11")
    c = Client(base, reviewer=None)
    status, res = c.decide(key, "confirm", 1)
    assert status == 400 and "reviewer name is required" in res["error"]
    body = json.dumps({"key": ["okved2", "47.11", "nace2", "47.11"], "action": "confirm", "version": 1}).encode()
    req = urllib.request.Request(base + "/api/decide", data=body, headers={"X-Reviewer": "anna"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 403
    status, res = Client(base).decide(key, "frobnicate", 1)
    assert status == 400 and "frobnicate" in res["error"]


def test_loopback_server_refuses_other_host_names(served):
    _, base = served
    status, res, _ = Client(base).call("/api/config", headers={"Host": "evil.example:80"})
    assert status == 403 and "evil.example" in res["error"]


def test_token_required_beyond_localhost(tmp_path):
    path = tmp_path / "r.sqlite"
    make_store(path)
    server = make_server(path, host="0.0.0.0", port=0)
    start_in_thread(server)
    try:
        assert server.token and len(server.token) >= 24 and f"token={server.token}" in server.url
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for p in ("/", "/api/queue", "/static/app.js", "/summary"):
            assert Client(base).call(p)[0] == 403, p
        assert Client(base).call("/api/queue?token=wrong")[0] == 403
        status, _, headers = Client(base).call(f"/?token={server.token}")
        assert status == 200 and "cw_token=" in headers.get("Set-Cookie", "")
        assert Client(base, Cookie=f"cw_token={server.token}").call("/static/app.js")[0] == 200
        c = Client(base, **{"X-Crosswalk-Token": server.token})
        assert c.queue()["total"] == 8
        assert c.decide(K("47.11", "47.11"), "confirm", c.link(K("47.11", "47.11"))["link"]["version"])[0] == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("accept, lang", [
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"), ("en-US,en;q=0.9,ru;q=0.8", "en"),
    ("de-DE,ru;q=0.5", "ru"), ("fr", "ru"), ("", "ru"), ("en;q=0.4, ru;q=0.6", "ru"), ("ru;q=bad", "ru"),
    ("de, en;q=0.5", "en")])
def test_preferred_language(accept, lang):
    assert preferred_lang(accept) == lang


def test_page_language_follows_accept_language(served):
    _, base = served
    _, page, _ = Client(base).call("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in page
    _, page, _ = Client(base).call("/", headers={"Accept-Language": "en-GB,en"})
    assert '<html lang="en">' in page
    _, cfg, _ = Client(base).call("/api/config", headers={"Accept-Language": "ru"})
    assert cfg["lang"] == "ru"
    _, summary, _ = Client(base).call("/summary", headers={"Accept-Language": "ru"})
    assert "Сводка проверки" in summary and "<svg" in summary
    assert Client(base).call("/static/../store.py")[0] == 404


def test_blind_second_review_kappa_and_disagreements(served):
    path, base = served
    anna, boris = Client(base, "anna"), Client(base, "boris")
    first = {("01.11", "01.11"): "confirm", ("10.11", "10.11"): "confirm",
             ("47.11", "47.11"): "reject", ("62.01", "62.01"): "confirm"}
    for (s, t), a in first.items():
        assert anna.decide(K(s, t), a, anna.link(K(s, t))["link"]["version"])[0] == 200
    # anna cannot second-review her own decisions: her second queue is empty
    assert anna.queue(mode="second")["total"] == 0
    q = boris.queue(mode="second")
    assert sorted(keys(q["items"])) == sorted(first)
    assert all(it["status"] == "" and "updated_by" not in it for it in q["items"])
    d = boris.link(K("47.11", "47.11"), mode="second")
    assert "history" not in d and d["link"]["status"] == "" and "comment" not in d["link"]
    assert all(c["status"] == "" for c in d["candidates"])
    status, res = anna.decide(K("47.11", "47.11"), "second", d["link"]["version"], verdict="reject")
    assert status == 400 and "another reviewer" in res["error"]
    second = {("01.11", "01.11"): "confirm", ("10.11", "10.11"): "reject",
              ("47.11", "47.11"): "reject", ("62.01", "62.01"): "confirm"}
    anna_tab = anna.link(K("62.01", "62.01"))["link"]     # anna has this link open meanwhile
    with ReviewStore(path, create=False) as s:
        before = {k: s.get(K(*k)) for k in first}
    for (s, t), b in second.items():
        v = boris.link(K(s, t), mode="second")["link"]["version"]
        status, res = boris.decide(K(s, t), "second", v, verdict=b)
        assert status == 200 and res["outcome"] == "applied"
        assert res["links"] == [{"key": ["okved2", s, "nace2", t], "version": v}]   # blind: no status
    assert boris.queue(mode="second")["total"] == 0
    with ReviewStore(path, create=False) as s:     # the link is untouched by the second review
        assert {k: s.get(K(*k)) for k in first} == before
        ev = s.history(K("10.11", "10.11"))[-1]
        assert (ev.action, ev.reviewer, ev.origin, ev.payload["verdict"]) == (
            "second_review", "boris", "browser:second", "reject")
    d = anna.link(K("10.11", "10.11"))
    assert d["link"]["comment"] == "" and d["link"]["updated_by"] == "anna"
    assert d["history"][-1]["action"] == "second_review" and d["history"][-1]["detail"] == {"verdict": "reject"}
    # anna's open tab still holds the current version: no conflict
    status, res = anna.decide(K("62.01", "62.01"), "confirm", anna_tab["version"], comment="sure")
    assert status == 200 and res["outcome"] == "applied"
    # 3 agree of 4; anna 3 confirm/1 reject, boris 2/2: p_o = .75, p_e = .5, kappa = .5
    _, summary, _ = anna.call("/summary?lang=en")
    assert '<td class="kappa">0.500</td>' in summary
    settle = anna.queue(mode="settle")
    assert keys(settle["items"]) == [("10.11", "10.11")]
    d = anna.link(K("10.11", "10.11"))
    assert d["second_review"] == {"first": "confirm", "first_by": "anna", "second": "reject",
                                  "second_by": "boris", "open": True}
    assert anna.decide(K("10.11", "10.11"), "settle", d["link"]["version"], verdict="confirm")[0] == 200
    assert anna.queue(mode="settle")["total"] == 0
    with ReviewStore(path, create=False) as s:
        assert s.get(K("10.11", "10.11")).status == "confirmed"


def test_cli_serve_prints_the_url_with_a_token_beyond_localhost(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "r.sqlite"
    make_store(path)
    proc = subprocess.Popen([sys.executable, "-m", "crosswalk", "review", "serve", "--store", str(path),
                             "--host", "0.0.0.0", "--port", "0", "--reviewer", "anna"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"review app for {path}: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        assert Client(base).call("/api/config")[0] == 403
        status, cfg, _ = Client(base, **{"X-Crosswalk-Token": token}).call("/api/config")
        assert status == 200 and cfg == {"lang": "ru", "reviewer": "anna", "token": True}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_concurrent_tabs_one_decision_wins(served):
    import threading
    path, base = served
    key = K("62.01", "62.02")
    v = Client(base).link(key)["link"]["version"]
    results = []

    def tab(i):
        action = "confirm" if i % 2 else "reject"
        results.append((action, Client(base, f"r{i}").decide(key, action, v)[0]))

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with ReviewStore(path, create=False) as s:
        hist = s.history(key)
        final = s.get(key).status
    assert [e.action for e in hist][:1] == ["propose"] and len(hist) == 2   # exactly one decision recorded
    winner = hist[1].action
    assert final == ("confirmed" if winner == "confirm" else "rejected")
    # the same action as the winner is "already so" (200); the other one is a conflict (409)
    assert sorted(results) == sorted((a, 200 if a == winner else 409) for a, _ in results)


# -- robustness: malformed requests get an answer, never a dropped connection or a hang -----
def _raw_post(base: str, body: bytes, **headers):
    import http.client
    from urllib.parse import urlsplit
    u = urlsplit(base)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    h = {"X-Crosswalk": "1", "X-Reviewer": "anna", "Content-Type": "application/json"}
    h.update(headers)
    try:
        con.putrequest("POST", "/api/decide")
        for k, v in h.items():
            con.putheader(k, v)
        if "Content-Length" not in h:
            con.putheader("Content-Length", str(len(body)))
        con.endheaders(body)
        r = con.getresponse()
        return r.status, json.loads(r.read())
    finally:
        con.close()


@pytest.mark.parametrize("length", ["-1", "abc", "1e3"])
def test_bad_content_length_is_a_400_not_a_hang(served, length):
    _, base = served
    status, data = _raw_post(base, b"", **{"Content-Length": length})
    assert status == 400 and "Content-Length" in data["error"]


def test_json_nested_too_deep_is_a_400(served):
    _, base = served
    status, data = _raw_post(base, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "not JSON" in data["error"]


def test_refused_post_closes_the_connection_so_its_body_is_not_a_second_request(served):
    import http.client
    from urllib.parse import urlsplit
    _, base = served
    u = urlsplit(base)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    body = b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"   # smuggled in the body
    con.request("POST", "/api/decide", body=body, headers={"X-Reviewer": "anna"})   # no X-Crosswalk
    r = con.getresponse()
    assert r.status == 403 and r.getheader("Connection", "").lower() == "close"
    r.read()
    con.close()


def test_undo_is_all_or_nothing_when_one_link_changed_since(served):
    path, base = served
    c = Client(base)
    old, new = K("01.11", "01.11"), K("01.11", "01.12")
    status, res = c.decide(old, "retarget", c.link(old)["link"]["version"], new_target="01.12",
                           target_version=c.link(new)["link"]["version"])
    assert status == 200
    # another reviewer rejects the new target meanwhile
    other = Client(base, "boris")
    assert other.decide(new, "reject", other.link(new)["link"]["version"])[0] == 200
    with ReviewStore(path, create=False) as s:
        before = (s.snapshot(), s.get(old).status, s.get(new).status)
    status, data = c.call("/api/undo", {"steps": res["undo"]})[:2]
    assert status == 409
    with ReviewStore(path, create=False) as s:   # the old link was not reopened on its own
        assert (s.snapshot(), s.get(old).status, s.get(new).status) == before


def test_undo_step_with_a_bad_before_is_a_400(served):
    _, base = served
    c = Client(base)
    key = K("62.01", "62.01")
    v = c.link(key)["link"]["version"]
    k = [key.source_scheme, key.source_code, key.target_scheme, key.target_code]
    status, data = c.call("/api/undo", {"steps": [{"key": k, "version": v, "before": ["x"]}]})[:2]
    assert status == 400 and "before" in data["error"]


def test_undo_after_a_second_review_withdraws_the_pair(served):
    """An undo back to pending (reopen) withdraws the first verdict: the disagreement is gone,
    and once the link is decided again it is back in the second-review queue."""
    _, base = served
    anna, boris = Client(base, "anna"), Client(base, "boris")
    key = K("47.11", "47.11")
    status, res = anna.decide(key, "confirm", anna.link(key)["link"]["version"])
    assert status == 200
    assert boris.decide(key, "second", boris.link(key, mode="second")["link"]["version"], verdict="reject")[0] == 200
    assert keys(anna.queue(mode="settle")["items"]) == [("47.11", "47.11")]
    assert anna.link(key)["second_review"]["open"] is True
    # the undo steps still hold the current version (the second review did not move it)
    status, undone = anna.call("/api/undo", {"steps": res["undo"]})[:2]
    assert status == 200 and undone["outcome"] == "applied" and undone["links"][0]["status"] == "pending"
    assert anna.queue(mode="settle")["total"] == 0 and "second_review" not in anna.link(key)
    assert boris.queue(mode="second")["total"] == 0
    assert anna.decide(key, "reject", anna.link(key)["link"]["version"])[0] == 200
    assert keys(boris.queue(mode="second")["items"]) == [("47.11", "47.11")]
    seen = boris.link(key, mode="second")["link"]["version"]
    assert anna.decide(key, "confirm", anna.link(key)["link"]["version"])[0] == 200   # anna changes her mind
    status, res = boris.decide(key, "second", seen, verdict="reject")   # a stale blind tab: a blind conflict
    assert status == 409 and res["current"] is None and "anna" not in res["error"] and "confirm" not in res["error"]
    assert boris.decide(key, "second", boris.link(key, mode="second")["link"]["version"], verdict="reject")[0] == 200
    d = anna.link(key)
    assert d["second_review"] == {"first": "confirm", "first_by": "anna", "second": "reject", "second_by": "boris",
                                  "open": True}


def test_a_reviewer_links_to_a_code_no_candidate_named(served):
    """Free text coded to a classification often needs a code outside the top 3: the page
    suggests codes the store knows (its catalogue and its links) by code or title words, and
    refuses a code it does not know rather than create a link to a typo."""
    path, base = served
    with ReviewStore(path) as s:
        s.register_items("nace2", [("85.42", "Tertiary education"), ("85.41", "Post-secondary education")])
    c = Client(base)
    status, found, _ = c.call("/api/items?scheme=nace2&q=" + quote("EDUCATION tert"))
    assert status == 200 and found["items"] == [{"code": "85.42", "title": "Tertiary education"}]
    status, found, _ = c.call("/api/items?scheme=nace2&q=85.4")
    assert [it["code"] for it in found["items"]] == ["85.41", "85.42"]
    status, found, _ = c.call("/api/items?scheme=nace2&q=activity")      # titles the links carry
    assert [it["code"] for it in found["items"]][:3] == ["01.11", "01.12", "01.13"]
    assert c.call("/api/items?scheme=nope&q=1")[0] == 400
    v = c.link(K("47.11", "47.11"))["link"]["version"]
    status, res = c.decide(K("47.11", "47.11"), "retarget", v, new_target="85.99")
    assert status == 400 and "85.99" in res["error"] and "typo" in res["error"]
    status, res = c.decide(K("47.11", "47.11"), "retarget", v, new_target="85.42")
    assert status == 200 and res["outcome"] == "applied"
    with ReviewStore(path, create=False) as s:
        new = s.get(K("47.11", "85.42"))
        assert (new.status, new.target_title) == ("confirmed", "Tertiary education")
        assert s.get(K("47.11", "47.11")).status == "rejected"


def test_free_text_titles_covering_most_rows_come_first(served):
    """Coded vacancies: a reviewer settles the titles that cover the most data rows first, so
    the first hundred decisions fix most of the file; each one shows its row count."""
    path, base = served
    rare, common = "T000000000001", "T000000000002"
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("text", code, "okz2014", tgt), "score": sc, "evidence": {"embedding": sc},
                    "source_title": title, "target_title": "группа", "flags": ("free-text",)}
                   for code, title, tgt, sc in [(rare, "Аппаратчик деаэрации", "8131", 0.2),
                                                (common, "Бухгалтер", "2411", 0.45)]])
        s.record_text_rows({rare: 3, common: 40})
        s.record_text_rows({rare: 3, common: 40})        # the same file coded again: no double count
        s.record_text_rows({common: 60})                 # next month's file adds
    q = Client(base).queue(pair="text:okz2014")
    assert [(it["key"][1], it["rows"]) for it in q["items"]] == [(common, 100), (rare, 3)]
    assert q["sections"] == ["text"]
    # classification links carry no row count and keep their order behind the free text
    mixed = Client(base).queue()
    assert [it["key"][1] for it in mixed["items"][:2]] == [common, rare]
    assert keys(mixed["items"][2:]) == QUEUE_ORDER and mixed["items"][2]["rows"] is None
    # a file coded while the app runs (no review event): the next queue has its counts
    with ReviewStore(path) as s:
        s.record_text_rows({rare: 500})
    q = Client(base).queue(pair="text:okz2014")
    assert [(it["key"][1], it["rows"]) for it in q["items"]] == [(rare, 503), (common, 100)]


# -- connections that never finish, too many connections, logs, closed browsers -----------
def _serve(tmp_path, **kw):
    path = tmp_path / "r.sqlite"
    make_store(path)
    server = make_server(path, port=0, **kw)
    start_in_thread(server)
    return server, path


def _closed_within(sock, seconds: float) -> bool:
    """Whether the server closes ``sock`` (recv returns b'' or resets) within ``seconds``."""
    import socket
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_connections_that_never_finish_their_headers_are_dropped(tmp_path):
    import socket
    import time
    server, _ = _serve(tmp_path, header_timeout=0.6, idle_timeout=5)
    try:
        port = server.server_address[1]
        silent = socket.create_connection(("127.0.0.1", port))
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n")     # no blank line: never ends
        assert _closed_within(silent, 5) and _closed_within(half, 5)
        # trickling a header byte every 0.2 s does not keep a connection beyond the deadline
        drip = socket.create_connection(("127.0.0.1", port))
        t0 = time.monotonic()
        try:
            for b in b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40:
                drip.sendall(bytes([b]))
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - t0 < 4 and _closed_within(drip, 2)
        for s in (silent, half, drip):
            s.close()
        assert Client(f"http://127.0.0.1:{port}").call("/api/config")[0] == 200   # still serving
    finally:
        server.shutdown()
        server.server_close()


def test_a_cap_on_concurrent_connections(tmp_path):
    import socket
    server, _ = _serve(tmp_path, max_connections=3, header_timeout=30, idle_timeout=30)
    try:
        port = server.server_address[1]
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        import time
        time.sleep(0.3)                       # the three are being served (each waits for headers)
        extra = socket.create_connection(("127.0.0.1", port))
        extra.settimeout(5)
        answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer
        assert _closed_within(extra, 5) and server.refused == 1
        held.pop().close()
        time.sleep(0.3)                       # its slot is free again
        assert Client(f"http://127.0.0.1:{port}").call("/api/config")[0] == 200
        for s in held + [extra]:
            s.close()
    finally:
        server.shutdown()
        server.server_close()


def test_no_token_or_query_string_in_the_log_even_on_a_500(tmp_path, capsys, monkeypatch):
    path = tmp_path / "r.sqlite"
    make_store(path)
    server = make_server(path, host="0.0.0.0", port=0)
    start_in_thread(server)
    try:
        def boom(*a, **kw):
            raise RuntimeError(f"cannot build the queue for token {server.token}")
        monkeypatch.setattr(server.model, "queue", boom)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, res, _ = Client(base).call(f"/api/queue?token={server.token}&q={quote('секрет')}")
        assert status == 500 and server.token not in json.dumps(res)
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert "GET /api/queue: RuntimeError" in err, err
    assert server.token not in err and "token=" not in err and "q=" not in err and "<token>" in err


def test_a_browser_closed_mid_answer_is_not_a_traceback(tmp_path, capsys, monkeypatch):
    import socket
    import struct
    import time
    server, _ = _serve(tmp_path)
    try:
        def slow_and_big(*a, **kw):
            time.sleep(0.3)
            return {"items": ["x" * 1000] * 4000, "total": 4000}
        monkeypatch.setattr(server.model, "queue", slow_and_big)
        port = server.server_address[1]
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /api/queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Reviewer: anna\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()                         # a reset: the page was closed before the answer
        time.sleep(1.0)
        monkeypatch.undo()
        assert Client(f"http://127.0.0.1:{port}").call("/api/config")[0] == 200
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err


# -- item by item: one entry per source item, one decision per item ------------------------
from crosswalk.model import Classification, Item  # noqa: E402
from crosswalk.review.items import ItemDecision, ItemKey  # noqa: E402

# okpdtr item -> (title, [(okz target, score)]); queue order by gap between the two best
# candidates, then top score: 14721 (gap 0), 13127 (gap .01), 10003 (.3), 20306 (.4), 24811 (.5)
OKPDTR = {"14721": ("Аппаратчик гидролиза", [("8131", 0.41), ("8141", 0.41), ("3116", 0.2)]),
          "13127": ("Кладовщик", [("4110", 0.30), ("4321", 0.29)]),
          "10003": ("Аппаратчик ацетилирования", [("8131", 0.6), ("8141", 0.3)]),
          "20306": ("Бухгалтер", [("3313", 0.8), ("2411", 0.4)]),
          "24811": ("Начальник смены", [("1321", 0.9), ("3122", 0.4)])}
OKZ = {"8131": "Операторы установок по переработке химического сырья", "8141": "Операторы машин по производству изделий из резины",
       "3116": "Техники-химики", "4110": "Офисные служащие общего профиля",
       "4321": "Служащие, занятые учетом, приемом и выдачей товаров на складе", "3313": "Бухгалтеры",
       "2411": "Специалисты в области бухгалтерского учета", "1321": "Руководители подразделений в обрабатывающей промышленности",
       "3122": "Мастера в обрабатывающей промышленности", "9321": "Упаковщики"}


def item_store(path) -> None:
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("okpdtr", src, "okz2014", tgt), "score": sc, "rank": r,
                    "role": "proposal" if r == 1 else "alternative", "evidence": {"title_tokens": sc, "word_meaning": 0.8},
                    "source_title": title, "target_title": OKZ[tgt], "flags": ("review",) if r == 1 else ()}
                   for src, (title, cands) in OKPDTR.items() for r, (tgt, sc) in enumerate(cands, 1)])
        s.register_items("okz2014", sorted(OKZ.items()))


def classifications() -> dict:
    """OKZ with example occupations (as the OKZ extract gives them) and ISCO-08 with its hierarchy
    and definitions, which OKZ shares code for code."""
    okz = Classification("okz2014", [Item(c, t, 4, attrs={"examples": "Весовщик\nКладовщик"} if c == "4321" else {})
                                     for c, t in OKZ.items()])
    isco = Classification("isco08", [
        Item("4", "Clerical Support Workers", 1), Item("43", "Numerical and Material Recording Clerks", 2, "4"),
        Item("432", "Material-recording and Transport Clerks", 3, "43"),
        Item("4321", "Stock Clerks", 4, "432", notes="Stock clerks maintain records of goods produced and production"
             " materials received, weighed, issued, dispatched or put into stock.",
             attrs={"included": "Examples of the occupations classified here:\n- Stock clerk\n- Storeroom clerk"}),
        Item("8", "Plant and Machine Operators, and Assemblers", 1), Item("81", "Stationary Plant and Machine Operators", 2, "8"),
        Item("813", "Chemical Products Plant and Machine Operators", 3, "81"),
        Item("8131", "Chemical Products Plant and Machine Operators", 4, "813")])
    return {"okz2014": okz, "isco08": isco}


@pytest.fixture
def items_served(tmp_path):
    path = tmp_path / "review.sqlite"
    item_store(path)
    server = make_server(path, port=0, classifications=classifications())
    start_in_thread(server)
    try:
        yield path, f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


def iq(c: Client, **q) -> dict:
    qs = "&".join(f"{k}={quote(str(v))}" for k, v in q.items())
    status, data, _ = c.call("/api/item-queue?" + qs)
    assert status == 200, data
    return data


def idetail(c: Client, code: str) -> dict:
    status, data, _ = c.call("/api/item?key=" + quote(json.dumps(["okpdtr", code, "okz2014"])))
    assert status == 200, data
    return data


def idecide(c: Client, code: str, choice: str, version: int, **extra):
    body = {"key": ["okpdtr", code, "okz2014"], "choice": choice, "version": version, **extra}
    return c.call("/api/item/decide", body)[:2]


def test_item_queue_one_entry_per_item_by_uncertainty_with_top_level_filters(items_served):
    _, base, _ = items_served
    c = Client(base)
    q = iq(c)
    assert [it["key"][1] for it in q["items"]] == ["14721", "13127", "10003", "20306", "24811"]
    first = q["items"][0]
    assert first["proposal"] == {"code": "8131", "title": OKZ["8131"], "score": 0.41} and first["n"] == 3
    assert q["counts"] == {"okpdtr:okz2014": {"items": 5, "open": 5, "decided": 0, "no_match": 0}}
    # groups, never one option per code: OKPDTR workers/employees, OKZ major and sub-major groups
    assert [(o["value"], o["n"]) for o in q["source_groups"]] == [("okpdtr:1", 3), ("okpdtr:2", 2)]
    assert [o["value"] for o in q["target_groups"]] == [
        "okz2014:1", "okz2014:13", "okz2014:3", "okz2014:33", "okz2014:4", "okz2014:41", "okz2014:8", "okz2014:81"]
    assert [o["label"] for o in q["target_groups"] if o["value"] in ("okz2014:4", "okz2014:81")] == [
        "Clerical Support Workers", "Stationary Plant and Machine Operators"]   # from ISCO-08: OKZ is built on it
    assert [it["key"][1] for it in iq(c, sgroup="okpdtr:2")["items"]] == ["20306", "24811"]
    assert [it["key"][1] for it in iq(c, tgroup="okz2014:81")["items"]] == ["14721", "10003"]
    assert [it["key"][1] for it in iq(c, q="аппаратчик")["items"]] == ["14721", "10003"]
    assert iq(c, pair="okved2:nace2")["total"] == 0
    assert c.call("/api/item-queue?status=maybe")[0] == 400


def test_accepting_the_proposal_is_one_decision_that_settles_the_item(items_served):
    path, base, _ = items_served
    c = Client(base)
    d = idetail(c, "14721")
    assert [x["code"] for x in d["candidates"]] == ["8131", "8141", "3116"]    # the proposal first
    status, res = idecide(c, "14721", "accept", d["item"]["version"], next={"status": "open"})
    assert status == 200 and res["outcome"] == "applied" and res["events"] == 3
    # the answer names what was decided, and brings the next item of the queue
    assert res["decided"]["targets"] == [{"code": "8131", "title": OKZ["8131"], "weight": None}]
    assert res["next"]["item"]["key"] == ["okpdtr", "13127", "okz2014"]
    assert res["undo"] == {"key": ["okpdtr", "14721", "okz2014"], "version": res["item"]["version"]}
    with ReviewStore(path, create=False) as s:
        it = s.item(ItemKey("okpdtr", "14721", "okz2014"))
        assert {x.key.target_code: x.status for x in it.links} == {"8131": "confirmed", "8141": "rejected",
                                                                 "3116": "rejected"}
        assert it.decided_by == "anna" and s.history(LinkKey("okpdtr", "14721", "okz2014", "8131"))[-1].origin == "browser"
    assert [it["key"][1] for it in iq(c)["items"]] == ["13127", "10003", "20306", "24811"]   # it left the queue
    assert [it["key"][1] for it in iq(c, status="decided")["items"]] == ["14721"]
    # a double click: the same decision on the version now shown changes nothing
    status, again = idecide(c, "14721", "accept", res["item"]["version"])
    assert status == 200 and again["outcome"] == "unchanged"


def test_pick_split_no_match_and_undo_by_reopen(items_served):
    path, base, _ = items_served
    c = Client(base)
    v = idetail(c, "13127")["item"]["version"]
    status, res = idecide(c, "13127", "pick", v, targets=[["4321", None]])     # candidate 2
    assert status == 200 and [t["code"] for t in res["decided"]["targets"]] == ["4321"]
    v = idetail(c, "20306")["item"]["version"]
    status, res = idecide(c, "20306", "split", v, targets=[["3313", 0.3], ["2411", 0.6]])
    assert status == 400 and "sum to 0.900000" in res["error"]
    status, res = idecide(c, "20306", "split", v, targets=[["3313", 0.4], ["2411", 0.6]])
    assert status == 200 and [(t["code"], t["weight"]) for t in res["decided"]["targets"]] == [("3313", 0.4),
                                                                                                ("2411", 0.6)]
    assert idetail(c, "20306")["item"]["relation"] == "1:n"
    v = idetail(c, "24811")["item"]["version"]
    status, res = idecide(c, "24811", "no_match", v, comment="нет в ОКЗ")
    assert status == 200 and res["item"]["status"] == "no_match" and res["decided"]["targets"] == []
    assert res["counts"]["okpdtr:okz2014"] == {"items": 5, "open": 2, "decided": 2, "no_match": 1}
    with ReviewStore(path, create=False) as s:
        n_events = len(s.events())
        assert s.no_match_items("okpdtr", "okz2014") == {"24811"}
    # undo: a reopen against the version the decision left; new events, none deleted
    status, undone = c.call("/api/item/decide", {**res["undo"], "choice": "reopen", "undo": True, "next": {}})[:2]
    assert status == 200 and undone["item"]["status"] == "open"
    assert undone["next"]["item"]["key"] == ["okpdtr", "24811", "okz2014"]      # shown again to decide anew
    with ReviewStore(path, create=False) as s:
        assert len(s.events()) > n_events and s.no_match_items("okpdtr", "okz2014") == set()
        assert {x.status for x in s.item(ItemKey("okpdtr", "24811", "okz2014")).links} == {"pending"}
        assert s.events()[-1].origin == "browser:undo"


def test_a_typed_code_is_picked_from_the_catalogue_or_refused(items_served):
    path, base, _ = items_served
    c = Client(base)
    v = idetail(c, "10003")["item"]["version"]
    status, res = idecide(c, "10003", "pick", v, targets=[["9999", None]])
    assert status == 400 and "9999" in res["error"] and "typo" in res["error"]
    status, res = idecide(c, "10003", "pick", v, targets=[["9321", None]])   # in the catalogue, no candidate
    assert status == 200 and res["decided"]["targets"] == [{"code": "9321", "title": "Упаковщики", "weight": None}]
    for bad in ({"choice": "accept", "targets": [["8131", None]]}, {"choice": "frob"}, {"choice": "pick", "targets": "8131"},
                {"choice": "split", "targets": [["8131", "half"], ["8141", 0.5]]}):
        status, res = c.call("/api/item/decide", {"key": ["okpdtr", "10003", "okz2014"], "version": v, **bad})[:2]
        assert status in (400, 409), (bad, res)
    assert c.call("/api/item/decide", {"key": ["okpdtr", "10003"], "version": v, "choice": "accept"})[0] == 400
    assert c.call("/api/item/decide", {"key": ["okpdtr", "99999", "okz2014"], "version": v, "choice": "accept"})[0] == 404


def test_stale_item_from_a_second_tab_is_a_409_with_the_item_as_it_is_now(items_served):
    path, base, _ = items_served
    anna, boris = Client(base, "anna"), Client(base, "boris")
    seen = idetail(boris, "13127")["item"]["version"]
    assert idecide(anna, "13127", "accept", idetail(anna, "13127")["item"]["version"])[0] == 200
    with ReviewStore(path, create=False) as s:
        before = s.snapshot()
    status, res = idecide(boris, "13127", "no_match", seen)
    assert status == 409 and "changed since you saw it" in res["error"] and "anna" in res["error"]
    assert res["item"]["item"]["status"] == "decided" and res["item"]["item"]["decided_by"] == "anna"
    with ReviewStore(path, create=False) as s:
        assert s.snapshot() == before


def test_context_beside_every_candidate_and_how_similar_items_were_decided(items_served):
    _, base, _ = items_served
    c = Client(base)
    d = idetail(c, "13127")
    cand = {x["code"]: x for x in d["candidates"]}
    okz = cand["4321"]["target"]
    assert okz["texts"] == [{"name": "examples", "text": "Весовщик\nКладовщик"}]
    assert [p["code"] for p in okz["path"]] == ["4", "43", "432"] and okz["path_scheme"] == "isco08"   # ISCO-08's hierarchy, named
    assert okz["related"]["definition"].startswith("Stock clerks maintain records")
    assert okz["related"]["texts"][0]["name"] == "included"
    assert cand["4110"]["evidence"] == {"title_tokens": 0.3, "word_meaning": 0.8}
    # nothing decided yet; then another «Аппаратчик …» is decided, and the first shows it
    assert idetail(c, "10003")["similar"]["by_head"] == []
    assert idecide(c, "14721", "accept", idetail(c, "14721")["item"]["version"])[0] == 200
    sim = idetail(c, "10003")["similar"]
    assert sim["head"] == "аппаратчик" and sim["same_head"] == 1
    assert sim["by_head"] == [{"target": "8131", "title": OKZ["8131"], "n": 1, "examples": ["Аппаратчик гидролиза"]}]
    assert sim["nearest"][0]["code"] == "14721" and sim["nearest"][0]["shared"] == ["аппаратчик"]
    # a no-correspondence decision is how a similar item was decided too
    assert idecide(c, "24811", "no_match", idetail(c, "24811")["item"]["version"])[0] == 200
    assert idetail(c, "24811")["history"][-1]["action"] == "no_match"


def test_suggestions_by_lemma_and_word_beginning_in_either_language(items_served):
    _, base, _ = items_served
    c = Client(base)

    def codes(q):
        status, data, _ = c.call("/api/suggest?scheme=okz2014&q=" + quote(q))
        assert status == 200, data
        return [(it["code"], it["kind"]) for it in data["items"]]

    assert codes("кладовщ")[0] == ("4321", "examples")          # the start of «Кладовщик», an example
    assert codes("складах")[0] == ("4321", "title")              # «на складе» by its lemma
    assert {"4321", "2411"} <= {code for code, _ in codes("учёт")}  # «учетом», «учета»
    assert codes("бухгалтерскому учету")[0] == ("2411", "title")  # every word found ranks first
    assert codes("stock clerk")[0] == ("4321", "included")       # ISCO-08's included occupations
    assert codes("chemical")[0] == ("8131", "related_title")
    assert codes("43")[0] == ("4321", "code")
    assert codes("zzzz") == []
    # a reviewer's decision teaches the suggestions: «Аппаратчик …» now finds the code it went to
    assert ("8131", "decided") not in codes("ацетилирования")
    assert idecide(c, "10003", "accept", idetail(c, "10003")["item"]["version"])[0] == 200
    assert codes("ацетилирования")[0] == ("8131", "decided")
    assert c.call("/api/suggest?scheme=nope&q=1")[0] == 400


def test_the_app_reads_only_what_new_events_touched(items_served, monkeypatch):
    """A decision must not reload every link: after start, the app re-reads the items new
    events touched — also a decision made elsewhere (the CLI, a workbook import)."""
    path, base, _ = items_served
    c = Client(base)
    iq(c)
    calls = []
    monkeypatch.setattr(ReviewStore, "items_of", lambda self, *a, **k: calls.append("items_of") or [])
    monkeypatch.setattr(ReviewStore, "links", lambda self, *a, **k: calls.append("links") or [])
    assert idecide(c, "14721", "accept", idetail(c, "14721")["item"]["version"], next={})[0] == 200
    with ReviewStore(path, create=False) as s:     # someone else decides, outside the app
        v = s.item(ItemKey("okpdtr", "20306", "okz2014")).version
        s.decide_items([ItemDecision(ItemKey("okpdtr", "20306", "okz2014"), "no_match", v)], reviewer="cli")
    q = iq(c)
    assert calls == []
    assert [it["key"][1] for it in q["items"]] == ["13127", "10003", "24811"]
    assert q["counts"]["okpdtr:okz2014"]["no_match"] == 1


def test_a_hook_hears_every_decision(items_served):
    """Where the matcher will learn while people review: called after each applied decision."""
    _, base, server = items_served
    heard = []
    server.model.after_decision.append(lambda item, d, who: heard.append((item.key.source_code, d.choice, who,
                                                                          item.status)))
    c = Client(base)
    assert idecide(c, "20306", "accept", idetail(c, "20306")["item"]["version"])[0] == 200
    v = idetail(c, "20306")["item"]["version"]
    assert idecide(c, "20306", "accept", v)[0] == 200                       # unchanged: no lesson
    assert idecide(c, "20306", "reopen", v)[0] == 200
    assert heard == [("20306", "accept", "anna", "decided"), ("20306", "reopen", "anna", "open")]


def test_free_text_titles_covering_most_rows_lead_the_item_queue(items_served):
    path, base, _ = items_served
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("text", code, "okz2014", "4321"), "score": 0.9, "evidence": {},
                    "source_title": title, "target_title": OKZ["4321"], "flags": ("free-text",)}
                   for code, title in [("T000000000001", "Кладовщица"), ("T000000000002", "Кладовщик склада")]])
        s.record_text_rows({"T000000000001": 12, "T000000000002": 300})
    q = iq(Client(base))
    assert [(it["key"][1], it["rows"]) for it in q["items"][:3]] == [("T000000000002", 300), ("T000000000001", 12),
                                                                     ("14721", None)]
    assert [o["value"] for o in q["source_groups"]] == ["okpdtr:1", "okpdtr:2", "text:text"]


def test_summary_is_aggregated_by_top_groups_whatever_the_number_of_codes(tmp_path):
    """Thousands of OKPDTR codes make a handful of rows (workers, employees, portal ranges;
    OKZ major groups), not one row per code."""
    sizes = {}
    for n in (40, 400):
        path = tmp_path / f"r{n}.sqlite"
        with ReviewStore(path) as s:
            s.propose([{"key": LinkKey("okpdtr", f"{d}{i:04d}", "okz2014", tgt), "score": 0.5, "evidence": {},
                        "source_title": f"Профессия {i}", "target_title": OKZ[tgt]}
                       for i in range(n // 4) for d in "1234" for tgt in ("8131", "3313")])
        server = make_server(path)
        start_in_thread(server)
        try:
            status, page, _ = Client(f"http://127.0.0.1:{server.server_address[1]}").call("/summary?lang=ru")
        finally:
            server.shutdown()
            server.server_close()
        assert status == 200 and "Сводка проверки" in page and "Профессии рабочих (1xxxx)" in page
        assert "Специалисты среднего уровня квалификации" in page     # OKZ major group 3 by name
        sizes[n] = page.count("<tr")
    assert sizes[40] == sizes[400] < 30


def test_summary_counts_decisions_not_events(items_served):
    """An accept is one confirm and the settled rejections of the other candidates; a split two
    confirms: each is ONE decision in the reviewers' progress. Rules' acceptances are nobody's."""
    path, base, _ = items_served
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("okz2014", "8131", "isco08", "8131"), "score": 1.0, "evidence": {},
                    "origin": "structure", "accept": "structure"}])
    c = Client(base)
    assert idecide(c, "14721", "accept", idetail(c, "14721")["item"]["version"])[1]["events"] == 3
    assert idecide(c, "20306", "split", idetail(c, "20306")["item"]["version"],
                   targets=[["3313", 0.5], ["2411", 0.5]])[0] == 200
    assert idecide(c, "24811", "no_match", idetail(c, "24811")["item"]["version"])[0] == 200
    _, page, _ = c.call("/summary?lang=en")
    row = page[page.index('<table id="progress">'):]
    row = row[row.index("<td class=\"l\">anna</td>"):]
    assert row[:row.index("</tr>")].endswith("<td>3</td>")
    assert "crosswalk" not in page[page.index('<table id="progress">'):]


def test_without_data_the_app_reads_the_classifications_review_load_recorded(tmp_path):
    """`review serve` with no --data: the definitions and hierarchy beside each candidate come
    from the files the store names (as `review load` records them)."""
    from pathlib import Path
    raw = Path(__file__).resolve().parent.parent / "raw_classifiers"
    path = tmp_path / "r.sqlite"
    make_store(path)
    with ReviewStore(path) as s:
        s.record_schemes({"nace2": {"edition": "", "source": str(raw / "nace2" / "nace2_structure_en-excerpt.csv"),
                                    "language": "en"},
                          "isic4": {"edition": "", "source": str(tmp_path / "gone.txt"), "language": "en"}})
    server = make_server(path)
    start_in_thread(server)
    try:
        server.model.wait_prepared(60)
        assert list(server.model.classes) == ["nace2"]
        assert server.model.notes == [f"isic4: {tmp_path / 'gone.txt'} is not there any more; its texts are not shown"]
        c = Client(f"http://127.0.0.1:{server.server_address[1]}")
        status, d, _ = c.call("/api/item?key=" + quote(json.dumps(["okved2", "62.01", "nace2"])))
        assert status == 200
        target = {x["code"]: x["target"] for x in d["candidates"]}["62.01"]
        assert [p["code"] for p in target["path"]] == ["J", "62", "62.0"]
    finally:
        server.shutdown()
        server.server_close()


def test_rules_acceptances_are_not_second_reviewed(items_served):
    """The blind second review is of people's decisions: a published table's or a same-code
    rule's acceptance is not in its queue."""
    path, base, _ = items_served
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("okz2014", "8131", "isco08", "8131"), "score": 1.0, "evidence": {},
                    "origin": "structure", "accept": "structure"}])
    anna, boris = Client(base, "anna"), Client(base, "boris")
    assert boris.queue(mode="second")["total"] == 0
    assert idecide(anna, "13127", "accept", idetail(anna, "13127")["item"]["version"])[0] == 200
    assert sorted(keys(boris.queue(mode="second")["items"])) == [("13127", "4110"), ("13127", "4321")]


def test_the_page_names_things_as_the_workbook_does(served):
    """Signals, relations, statuses, roles and schemes: one set of names (crosswalk/review/labels.py)
    for the workbook, the report and the page."""
    from crosswalk.review import labels
    status, js, headers = Client(base := served[1]).call("/static/labels.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    for name in (labels.signal_name("structure", "ru"), labels.relation_name("n:1", "ru"),
                 labels.item_status_name("open", "ru"), labels.role_name("alternative", lang="ru"),
                 labels.scheme_name("okz2014", "ru")):
        assert json.dumps(name, ensure_ascii=False) in js
    assert '<script src="/static/labels.js"' in Client(base).call("/")[1]
