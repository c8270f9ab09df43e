"""`crosswalk review serve`: the review app over HTTP (standard library only).

A JSON API beside a few static files (vanilla JS, nothing fetched from elsewhere).
Bound to 127.0.0.1 by default, where the Host header must name the loopback (a page
elsewhere cannot rebind a DNS name to it). On any other address every request must
carry the token printed at start (``?token=`` once, then a cookie, or the
``X-Crosswalk-Token`` header), else 403. Writes need the ``X-Crosswalk`` header (a form
on another site cannot send it) and a reviewer name (``--reviewer``, or ``X-Reviewer``
from the page, which asks once and keeps it in localStorage).
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from ...errors import CrosswalkError
from ...model import SCHEMES
from .data import Model, WebError, parse_key

STATIC = Path(__file__).parent / "static"
FILES = {"app.js": "text/javascript", "app.css": "text/css", "i18n.js": "text/javascript"}
LANGS = ("ru", "en")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1 << 20
_REVIEWER = re.compile(r"[^\x00-\x1f\x7f]{1,80}")


def preferred_lang(accept: Optional[str]) -> str:
    """ru or en from an Accept-Language header: the supported language with the highest q
    (the earlier one on a tie); en when neither is asked for."""
    best, best_q = "en", 0.0
    for part in (accept or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q=([^;\s]*)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGS and q > best_q:
            best, best_q = lang, q
    return best


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, model: Model, *, reviewer: Optional[str], token: Optional[str]):
        super().__init__(addr, Handler)
        self.model, self.reviewer, self.token = model, reviewer, token
        self.loopback = addr[0] in LOOPBACK

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the terminal shows the URL, not every request
        pass

    # -- plumbing ------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection or (self.command == "POST" and not getattr(self, "_body_read", True)):
            # a POST answered before its body was read: the unread body must never be
            # parsed as the next request on this connection
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _allowed(self, query: dict) -> Optional[dict]:
        """None when the request may go on, else the headers of a 403 already sent."""
        if self.server.loopback:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host not in LOOPBACK:
                self._json(403, {"error": f"host {host!r} refused: open the app at {self.server.url}"})
                return None
        token = self.server.token
        if not token:
            return {}
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        given = (self.headers.get("X-Crosswalk-Token") or query.get("token", [""])[0]
                 or (cookie["cw_token"].value if "cw_token" in cookie else ""))
        if not hmac.compare_digest(given.encode(), token.encode()):
            self._json(403, {"error": "a token is required: open the URL printed by `crosswalk review serve`"})
            return None
        if query.get("token"):
            return {"Set-Cookie": f"cw_token={token}; Path=/; HttpOnly; SameSite=Strict"}
        return {}

    def _reviewer(self, required: bool = True) -> str:
        if self.server.reviewer:
            return self.server.reviewer
        name = unquote(self.headers.get("X-Reviewer") or "").strip()
        if not _REVIEWER.fullmatch(name):
            if required:
                raise WebError(400, "a reviewer name is required (asked once by the page; or start the"
                                    " server with --reviewer)")
            return ""
        return name

    def _body(self) -> dict:
        raw = (self.headers.get("Content-Length") or "0").strip()
        # a negative length would read until the client hangs up (a stuck thread); a
        # non-number is a bad request, never an exception that drops the connection
        if not raw.isdigit():
            raise WebError(400, f"Content-Length {raw!r} is not a number of bytes")
        n = int(raw)
        if n > MAX_BODY:
            raise WebError(413, "request too large")
        data = self.rfile.read(n)
        self._body_read = True
        try:
            obj = json.loads(data or b"{}")
        except (ValueError, RecursionError):   # RecursionError: JSON nested too deep
            raise WebError(400, "the request body is not JSON") from None
        if not isinstance(obj, dict):
            raise WebError(400, "the request body must be a JSON object")
        return obj

    def _store_call(self, fn):
        model = self.server.model
        with model.open() as store, model.lock:
            model.refresh(store)
            return fn(store)

    # -- routes --------------------------------------------------------------------
    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        extra = self._allowed(query)
        if extra is None:
            return
        self._answer(lambda: self._get(url.path, query, extra))

    do_HEAD = do_GET

    def _get(self, path: str, query: dict, extra: dict) -> None:
        q = {k: v[0] for k, v in query.items()}
        model = self.server.model
        lang = q.get("lang") if q.get("lang") in LANGS else preferred_lang(self.headers.get("Accept-Language"))
        if path == "/":
            page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{lang}}", lang)
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8", extra)
        elif path.startswith("/static/") and path[8:] in FILES:
            self._send(200, (STATIC / path[8:]).read_bytes(), FILES[path[8:]] + "; charset=utf-8", extra)
        elif path == "/summary":
            from ...report import render_html, summary_data
            page = self._store_call(lambda s: render_html(summary_data(s, model.classes), lang, back="/"))
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8", extra)
        elif path == "/api/config":
            self._json(200, {"lang": lang, "reviewer": self.server.reviewer, "token": bool(self.server.token)})
        elif path == "/api/queue":
            mode = q.get("mode", "review")
            reviewer = self._reviewer(required=mode != "review")
            try:
                offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 200)), 1000)
            except ValueError:
                raise WebError(400, "offset and limit are integers") from None
            self._json(200, self._store_call(lambda s: model.queue(
                reviewer, mode, pair=q.get("pair", ""), status=q.get("status", "pending"), band_=q.get("band", ""),
                cardinality=q.get("cardinality", ""), section_=q.get("section", ""), by=q.get("by", ""),
                q=q.get("q", ""), offset=max(offset, 0), limit=max(limit, 1))))
        elif path == "/api/items":
            scheme = q.get("scheme", "")
            if scheme not in SCHEMES:
                raise WebError(400, f"scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}")
            self._json(200, self._store_call(lambda s: model.items(s, scheme, q.get("q", ""))))
        elif path == "/api/link":
            try:
                key = parse_key(json.loads(q.get("key", "null")))
            except ValueError:
                raise WebError(400, "key must be a JSON list") from None
            mode = q.get("mode", "review")
            reviewer = self._reviewer(required=False)
            self._json(200, self._store_call(lambda s: model.detail(s, key, reviewer, mode)))
        else:
            self._json(404, {"error": f"no page {path}"})

    def do_POST(self):
        url = urlsplit(self.path)
        self._body_read = False
        if self._allowed(parse_qs(url.query)) is None:
            return
        self._answer(lambda: self._post(url.path))

    def _post(self, path: str) -> None:
        if self.headers.get("X-Crosswalk") != "1":
            raise WebError(403, "writes come from the review page (X-Crosswalk header missing)")
        reviewer = self._reviewer()
        body = self._body()
        model = self.server.model
        if path == "/api/decide":
            self._json(200, self._store_call(lambda s: model.decide(s, body, reviewer)))
        elif path == "/api/undo":
            self._json(200, self._store_call(lambda s: model.undo(s, body, reviewer)))
        else:
            raise WebError(404, f"no endpoint {path}")

    def _answer(self, handle) -> None:
        """Run a request handler; errors become JSON answers, never a dropped connection."""
        try:
            handle()
        except WebError as exc:
            self._json(exc.status, {"error": str(exc), **exc.extra})
        except CrosswalkError as exc:
            self._json(500, {"error": str(exc)})
        except Exception as exc:   # never a dropped connection with a traceback
            self._internal(exc)

    def _internal(self, exc: Exception) -> None:
        import sys
        print(f"crosswalk review serve: {self.command} {self.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        self.close_connection = True
        self._json(500, {"error": f"internal error ({type(exc).__name__}); the server log has the details"})


def make_server(store_path: str | Path, *, host: str = "127.0.0.1", port: int = 0, reviewer: Optional[str] = None,
                token: Optional[str] = None, classifications=None, allow_network_fs: bool = False) -> ReviewServer:
    """A server ready to ``serve_forever()`` (port 0: a free one). A host other than the
    loopback gets a token (generated unless given); the store must exist."""
    if reviewer is not None and not _REVIEWER.fullmatch(reviewer.strip()):
        raise CrosswalkError(f"reviewer name {reviewer!r}: 1–80 characters, no control characters")
    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(24)
    model = Model(str(store_path), allow_network_fs=allow_network_fs, classifications=classifications)
    with model.open() as store:   # fail now, not at the first request, on a missing or bad store
        model.refresh(store)
    return ReviewServer((host, port), model, reviewer=reviewer.strip() if reviewer else None, token=token)


def start_in_thread(server: ReviewServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    return t


__all__ = ["Handler", "ReviewServer", "make_server", "preferred_lang", "start_in_thread"]
