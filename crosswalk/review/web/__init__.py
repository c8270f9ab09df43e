"""The browser review app (`crosswalk review serve`): server.py (HTTP + JSON API),
data.py (queue, detail, decisions through the review store), static/ (the page)."""
from .server import make_server, preferred_lang, start_in_thread

__all__ = ["make_server", "preferred_lang", "start_in_thread"]
