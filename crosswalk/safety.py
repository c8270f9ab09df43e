"""Safety of the files crosswalk writes for people: spreadsheet cells that never run as
formulas, text an XML-based workbook can hold, valid sheet names, output paths that stay
inside the chosen folder, and atomic writes (a crash leaves the old file or the new one,
never half of one).
"""
from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any

from .candidates import sheet_safe, sheet_unsafe
from .io.atomic import atomic_replace, atomic_write
from .errors import CrosswalkError

# XML 1.0 allows \t \n \r and everything from U+0020 except surrogates, U+FFFE and U+FFFF
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f\ud800-\udfff\ufffe\uffff]")
SHEET_MAX = 31                      # Excel's limit on a sheet name
_RESERVED_SHEETS = {"history"}      # Excel keeps this name for itself



def cell_text(value: Any) -> str:
    """Text a spreadsheet shows as text: ``None`` → ``""``; a leading ``= + - @`` or control
    character (``\\t \\r \\n`` too) gets a ``'`` in front so it never runs as a formula.
    Reversible with :func:`cell_untext` (quotes already leading to such a character get one
    more quote)."""
    if value is None:
        return ""
    return sheet_safe(value if isinstance(value, str) else str(value))


def cell_untext(text: str) -> str:
    """Undo :func:`cell_text`."""
    return sheet_unsafe(text)


def clean_xml(text: str) -> tuple[str, bool]:
    """``text`` with every character XML 1.0 cannot hold (C0 controls other than tab, line
    feed and carriage return; lone surrogates; U+FFFE, U+FFFF) replaced by U+FFFD, and
    whether anything was replaced (callers report the cell)."""
    new = _ILLEGAL_XML.sub("\ufffd", text)
    return new, new != text


def illegal_xml_chars(text: str) -> list[str]:
    """The distinct illegal characters of ``text`` as ``U+XXXX``, for messages."""
    return sorted({f"U+{ord(c):04X}" for c in _ILLEGAL_XML.findall(text)})


def sheet_name(name: str, used: set) -> str:
    """A valid, unique worksheet name for ``name``: characters Excel refuses (``[]:*?/\\``
    and controls) become ``_``, no leading/trailing apostrophe, never empty, at most 31
    characters, unique among ``used`` ignoring case (``~2``, ``~3``… appended, cutting the
    name to fit). Deterministic; the chosen name is added to ``used``."""
    base = _SHEET_BAD.sub("_", str(name)).strip().strip("'").strip() or "Sheet"
    if base.casefold() in _RESERVED_SHEETS:
        base += "_"
    taken = {u.casefold() for u in used} | _RESERVED_SHEETS
    out, n = base[:SHEET_MAX].rstrip("'"), 1
    while out.casefold() in taken:
        n += 1
        suffix = f"~{n}"
        out = base[:SHEET_MAX - len(suffix)].rstrip("'") + suffix
    used.add(out)
    return out


# What a terminal must never receive from data: C0 controls (ESC starts OSC/CSI sequences that
# set the window title, write the clipboard, move the cursor, hide text), DEL, C1 controls
# (0x9b is CSI on some terminals) and bidirectional overrides that reorder what is shown.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# …except the sequences the CLI writes itself through click: colours and bold (SGR) and the
# progress bar's cursor hide/show
_OWN_SEQUENCE = re.compile(r"\x1b\[(?:0|1|2|22|3[0-7]|39|9[0-7])m|\x1b\[\?25[lh]")


def terminal_text(text: str, *, own_sequences: bool = False) -> str:
    """``text`` safe to print: every control character as ``\\uXXXX`` (also a valid JSON escape,
    so JSON output keeps its meaning); tab and line feed kept. ``own_sequences``: keep the
    colour and cursor sequences click writes, and a carriage return opening the text (a
    progress line redrawing itself)."""
    keep_cr = own_sequences and text.startswith("\r")
    body = text[1:] if keep_cr else text

    def esc(m: re.Match) -> str:
        return "".join(f"\\u{ord(c):04x}" for c in m.group())
    if own_sequences and "\x1b" in body:
        parts, last = [], 0
        for m in _OWN_SEQUENCE.finditer(body):
            parts += [_TERMINAL_CONTROL.sub(esc, body[last:m.start()]), m.group()]
            last = m.end()
        parts.append(_TERMINAL_CONTROL.sub(esc, body[last:]))
        body = "".join(parts)
    else:
        body = _TERMINAL_CONTROL.sub(esc, body)
    return ("\r" if keep_cr else "") + body


class TerminalStream:
    """A text stream that passes every write through :func:`terminal_text`: installed over
    stdout and stderr for the whole of a CLI command, so no command can print a title's
    escape sequence raw, whatever path the text takes."""

    def __init__(self, inner):
        self._inner = inner

    def write(self, text):
        if isinstance(text, str):
            text = terminal_text(text, own_sequences=True)
        return self._inner.write(text)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def safe_path(base: str | Path, name: str | PurePath) -> Path:
    """``base / name``, refusing a ``name`` that is empty, absolute, contains ``..`` or a NUL,
    or leads (through a symlink) outside ``base``: output never escapes the chosen folder."""
    text = str(name)
    if not text or "\x00" in text:
        raise CrosswalkError(f"output name {text!r} is empty or holds a NUL character")
    rel = PurePath(text)
    if rel.is_absolute() or rel.anchor:
        raise CrosswalkError(f"output name {text!r} is an absolute path; give a name inside {base}")
    if ".." in rel.parts:
        raise CrosswalkError(f"output name {text!r} climbs out of {base} with '..'")
    root = Path(base).resolve()
    target = (root / rel).resolve()       # follows symlinks, also dangling ones
    if target == root or not target.is_relative_to(root):
        raise CrosswalkError(f"output {root / rel} leads to {target}, outside the output folder {root}"
                             " (a symlink?); refusing to write there")
    return root / rel


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` atomically (temporary file in the same folder, fsync, rename)."""
    return atomic_write(path, data)


def atomic_save_workbook(wb, path: str | Path) -> Path:
    """Save an openpyxl workbook atomically: if the save fails midway the old file is
    untouched and the temporary file is removed."""
    return atomic_replace(path, wb.save)


__all__ = ["SHEET_MAX", "TerminalStream", "atomic_save_workbook", "atomic_write_bytes", "cell_text",
           "cell_untext", "clean_xml", "illegal_xml_chars", "safe_path", "sheet_name", "terminal_text"]
