"""`crosswalk review serve`: the review app over HTTP (standard library only).

A JSON API beside a few static files (vanilla JS, nothing fetched from elsewhere).
Bound to 127.0.0.1 by default, where the Host header must name the loopback (a page
elsewhere cannot rebind a DNS name to it). On any other address every request must
carry the token printed at start (``?token=`` once, then a cookie, or the
``X-Crosswalk-Token`` header), else 403. Writes need the ``X-Crosswalk`` header (a form
on another site cannot send it) and a reviewer name (``--reviewer``, or ``X-Reviewer``
from the page, which asks once and keeps it in localStorage).

Bounded against clients that hold connections open: each connection's headers must arrive
within ``header_timeout`` seconds (however slowly they trickle), a silent socket is dropped
after ``idle_timeout`` seconds, and at most ``max_connections`` are served at once (others get
a 503 and are closed, before any thread is started for them). Nothing the server prints
carries a token or a query string, and a browser closed mid-answer is not an error.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
import sys
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from ...errors import CrosswalkError
from ...model import SCHEMES
from .data import Model, WebError, parse_key
from .itemviews import parse_item_key

STATIC = Path(__file__).parent / "static"
FILES = {"app.js": "text/javascript", "app.css": "text/css", "i18n.js": "text/javascript",
         "items.js": "text/javascript", "links.js": "text/javascript"}
LANGS = ("ru", "en")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1 << 20
_REVIEWER = re.compile(r"[^\x00-\x1f\x7f]{1,80}")
HEADER_TIMEOUT = 10.0     # seconds for a request line and its headers, from the first byte waited for
IDLE_TIMEOUT = 20.0       # seconds a socket may stay silent (reading a body, writing an answer)
MAX_CONNECTIONS = 64      # served at once; a browser opens about six
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Length: 38\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
         b"too many connections; try again later\n")


def preferred_lang(accept: Optional[str]) -> str:
    """ru or en from an Accept-Language header: the supported language with the highest q
    (the earlier one on a tie); Russian first: ru when neither is asked for."""
    best, best_q = "ru", 0.0
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


def log(message: str, token: Optional[str] = None) -> None:
    """One line in the server log (stderr), never with the token in it."""
    if token:
        message = message.replace(token, "<token>")
    print(f"crosswalk review serve: {message}", file=sys.stderr, flush=True)


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, model: Model, *, reviewer: Optional[str], token: Optional[str],
                 header_timeout: float = HEADER_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS):
        super().__init__(addr, Handler)
        self.model, self.reviewer, self.token = model, reviewer, token
        self.loopback = addr[0] in LOOPBACK
        self.header_timeout, self.idle_timeout = header_timeout, idle_timeout
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0          # connections turned away because all slots were taken
        self.reranker = None      # learning while people review (make_server(learning=True))
        self.expired = 0          # connections cut because their headers were late
        self._active: set = set()
        self._active_lock = threading.Lock()

    def server_close(self) -> None:
        if self.reranker is not None:
            self.reranker.close()
        super().server_close()

    def watch(self, handler: "Handler", on: bool) -> None:
        with self._active_lock:
            (self._active.add if on else self._active.discard)(handler)

    def service_actions(self) -> None:
        """Run by serve_forever() between polls: cut the connections past their header deadline."""
        now = time.monotonic()
        with self._active_lock:
            late = [h for h in self._active if h.deadline is not None and h.deadline < now]
        for h in late:
            self.expired += 1
            h.expire()

    # -- a bounded number of connections, each in its own thread --------------------
    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        """A client that went away is no error; anything else is one line, no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, _GONE):
            return
        log(f"error while serving a request: {type(exc).__name__}: {exc}", self.token)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"
    deadline: Optional[float] = None

    def log_message(self, fmt, *args):  # quiet: the terminal shows the URL, not every request
        pass

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout      # StreamRequestHandler sets it on the socket
        super().setup()
        self.server.watch(self, True)

    def finish(self) -> None:
        self.server.watch(self, False)
        super().finish()

    def handle_one_request(self) -> None:
        # the request line and headers must be in by then, however slowly they trickle
        # (a socket timeout alone restarts with every byte): ReviewServer.service_actions
        self.deadline = time.monotonic() + self.server.header_timeout
        try:
            super().handle_one_request()
        except _GONE:             # the browser went away (closed, navigated): nothing to answer
            self.close_connection = True

    def _headers_done(self) -> None:
        """The headers are in: from here the socket's idle timeout alone applies."""
        self.deadline = None

    def expire(self) -> None:
        """Cut a connection whose headers are late: the blocked read returns, the thread ends."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
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
        self._headers_done()
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
        elif path == "/static/labels.js":
            from .names import script
            self._send(200, script(), "text/javascript; charset=utf-8", extra)
        elif path.startswith("/static/") and path[8:] in FILES:
            self._send(200, (STATIC / path[8:]).read_bytes(), FILES[path[8:]] + "; charset=utf-8", extra)
        elif path == "/summary":
            from .summary import render
            page = self._store_call(lambda s: render(model, lang, back=f"/?lang={lang}"))
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
        elif path == "/api/item-queue":
            try:
                offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 100)), 1000)
            except ValueError:
                raise WebError(400, "offset and limit are integers") from None
            f = {k: q.get(k, "") for k in ("pair", "sgroup", "tgroup", "q")}
            f["status"] = q.get("status", "open")
            self._json(200, self._store_call(lambda s: model.item_queue(f, offset=max(offset, 0), limit=max(limit, 1))))
        elif path == "/api/item":
            try:
                key = parse_item_key(json.loads(q.get("key", "null")))
            except ValueError:
                raise WebError(400, "key must be a JSON list") from None
            self._json(200, self._store_call(lambda s: model.item_detail(s, key)))
        elif path == "/api/suggest":
            scheme = q.get("scheme", "")
            if scheme not in SCHEMES:
                raise WebError(400, f"scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}")
            self._json(200, self._store_call(lambda s: model.suggest(s, scheme, q.get("q", ""))))
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
        self._headers_done()
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
        if path == "/api/item/decide":
            self._json(200, self._store_call(lambda s: model.decide_item(s, body, reviewer)))
        elif path == "/api/decide":
            self._json(200, self._store_call(lambda s: model.decide(s, body, reviewer)))
        elif path == "/api/undo":
            self._json(200, self._store_call(lambda s: model.undo(s, body, reviewer)))
        else:
            raise WebError(404, f"no endpoint {path}")

    def _answer(self, handle) -> None:
        """Run a request handler; errors become JSON answers, never a dropped connection."""
        try:
            try:
                handle()
            except _GONE:
                raise
            except WebError as exc:
                self._json(exc.status, {"error": str(exc), **exc.extra})
            except CrosswalkError as exc:
                self._json(500, {"error": str(exc)})
            except Exception as exc:   # never a dropped connection with a traceback
                self._internal(exc)
        except _GONE:     # the browser closed the page, or stopped reading: nothing left to tell it
            self.close_connection = True

    def _internal(self, exc: Exception) -> None:
        # the path only: a query string may carry the token (?token=…) or what a reviewer typed
        log(f"{self.command} {urlsplit(self.path).path}: {type(exc).__name__}: {exc}", self.server.token)
        self.close_connection = True
        self._json(500, {"error": f"internal error ({type(exc).__name__}); the server log has the details"})


def make_server(store_path: str | Path, *, host: str = "127.0.0.1", port: int = 0, reviewer: Optional[str] = None,
                token: Optional[str] = None, classifications=None, allow_network_fs: bool = False,
                header_timeout: float = HEADER_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS, learning: bool = False, indexes=(),
                embedding_model: Optional[str] = None) -> ReviewServer:
    """A server ready to ``serve_forever()`` (port 0: a free one). A host other than the
    loopback gets a token (generated unless given); the store must exist (it is checked once
    here; each request then opens it without the page check). ``learning``: every decision
    teaches the matcher, and the items still waiting are re-ranked in the background
    (:class:`crosswalk.review.learning.Reranker`; items on a reviewer's screen are left alone);
    ``server_close()`` stops it."""
    if not (header_timeout > 0 and idle_timeout > 0 and max_connections >= 1):
        raise CrosswalkError("header_timeout and idle_timeout must be positive, max_connections at least 1")
    if reviewer is not None and not _REVIEWER.fullmatch(reviewer.strip()):
        raise CrosswalkError(f"reviewer name {reviewer!r}: 1–80 characters, no control characters")
    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(24)
    model = Model(str(store_path), allow_network_fs=allow_network_fs, classifications=classifications)
    with model.open(check=True) as store:   # fail now, not at the first request, on a missing or bad store
        model.refresh(store)
    server = ReviewServer((host, port), model, reviewer=reviewer.strip() if reviewer else None, token=token,
                          header_timeout=header_timeout, idle_timeout=idle_timeout, max_connections=max_connections)
    if learning:
        from ..learning import Reranker
        rr = Reranker(store_path, classifications=model.classes, indexes=indexes, embedding_model=embedding_model,
                      skip=model.shown_items, allow_network_fs=allow_network_fs,
                      log=lambda msg: log(f"learning: {msg}", token))
        model.after_decision.append(rr.notify)
        server.reranker = rr
        rr.notify()                          # warm up: read the store, the matcher's wider candidates
    return server


def start_in_thread(server: ReviewServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    return t


__all__ = ["Handler", "ReviewServer", "make_server", "preferred_lang", "start_in_thread"]
