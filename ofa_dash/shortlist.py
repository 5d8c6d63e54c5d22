"""The shortlist of a space: subnets pinned with a note, kept in ``precomputed/<space>/shortlist.json``.

A decision is made over days and by several people, so the pins live in the
store (they survive restarts and are the same for everyone reading that
folder), not in a browser session. The file is visitor-written text, so it is
read as data only: ids must be well-formed, notes are plain text with a length
cap (pages show them escaped, the decision report through ``html.escape``),
and a file that breaks these rules is refused with one line and left as it is.
Every change is a read-modify-write under ``files.locked`` on the space folder
and an atomic replace, so two sessions pinning at once both keep their pins.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ofa_dash.files import atomic_write_json, locked

VERSION = 1
MAX_NOTE = 2000  # characters a note may hold
MAX_PINS = 200  # subnets a shortlist may hold
_ID = re.compile(r"^[0-9a-z]{1,64}$")  # the shape of ``SearchSpace.arch_to_id`` ids
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters other than tab and newline


class ShortlistError(ValueError):
    """A shortlist file or a pin that breaks the rules; the message is one line for the page or the CLI."""


@dataclass(frozen=True)
class Pin:
    """One pinned subnet: its id, the note that says why, and when it was pinned (UTC, ISO 8601)."""

    id: str
    note: str = ""
    pinned_at: str = ""


def clean_id(value: object) -> str:
    """A well-formed subnet id (lower case), or :class:`ShortlistError`."""
    if not isinstance(value, str) or not _ID.match(value.strip().lower()):
        raise ShortlistError(f"not a subnet id: {str(value)[:40]!r}")
    return value.strip().lower()


def clean_note(value: object) -> str:
    """A note as plain text: a string, control characters dropped, at most ``MAX_NOTE`` characters (longer is refused, not cut)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ShortlistError("a note must be text")
    value = _CONTROL.sub("", value).strip()
    if len(value) > MAX_NOTE:
        raise ShortlistError(f"a note holds at most {MAX_NOTE} characters (this one has {len(value)})")
    return value


def parse(obj: object) -> list[Pin]:
    """The pins of a decoded shortlist file, checked; :class:`ShortlistError` says what is wrong with it."""
    if not isinstance(obj, dict) or not isinstance(obj.get("pins"), list):
        raise ShortlistError('not a shortlist file (expected {"version": 1, "pins": [...]})')
    if obj.get("version") != VERSION:
        raise ShortlistError(f"shortlist version {obj.get('version')!r} is not {VERSION}")
    if len(obj["pins"]) > MAX_PINS:
        raise ShortlistError(f"a shortlist holds at most {MAX_PINS} subnets (this one has {len(obj['pins'])})")
    pins: list[Pin] = []
    seen: set[str] = set()
    for i, item in enumerate(obj["pins"]):
        if not isinstance(item, dict):
            raise ShortlistError(f"pin {i + 1} is not an object")
        try:
            sid = clean_id(item.get("id"))
            note = clean_note(item.get("note"))
        except ShortlistError as exc:
            raise ShortlistError(f"pin {i + 1}: {exc}") from None
        when = item.get("pinned_at", "")
        if sid not in seen:
            seen.add(sid)
            pins.append(Pin(sid, note, when if isinstance(when, str) else ""))
    return pins


def read(path: str | Path) -> list[Pin]:
    """The pins in ``path`` (none when the file does not exist); a damaged file raises :class:`ShortlistError`."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShortlistError(f"{path.name} cannot be read as JSON ({type(exc).__name__}); fix or remove it") from None
    try:
        return parse(obj)
    except ShortlistError as exc:
        raise ShortlistError(f"{path.name}: {exc}; fix or remove it") from None


def _write(path: Path, pins: list[Pin]) -> None:
    atomic_write_json(path, {"version": VERSION, "pins": [asdict(p) for p in pins]})


def pinned(pins: list[Pin], sid: str, note: str = "", when: str | None = None) -> list[Pin]:
    """``pins`` with ``sid`` pinned (its note replaced when it is already there, its place kept); pure."""
    sid, note = clean_id(sid), clean_note(note)
    stamp = when if when is not None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out, found = [], False
    for p in pins:
        if p.id == sid:
            out.append(Pin(sid, note, p.pinned_at or stamp))
            found = True
        else:
            out.append(p)
    if not found:
        if len(out) >= MAX_PINS:
            raise ShortlistError(f"the shortlist is full ({MAX_PINS} subnets); remove one first")
        out.append(Pin(sid, note, stamp))
    return out


def unpinned(pins: list[Pin], sid: str) -> list[Pin]:
    """``pins`` without ``sid``; pure."""
    return [p for p in pins if p.id != sid]


def pin(path: str | Path, sid: str, note: str = "") -> list[Pin]:
    """Pin ``sid`` with ``note`` in the file at ``path`` (locked read-modify-write, atomic); returns the new pins.

    A damaged file raises :class:`ShortlistError` and is left untouched.
    """
    path = Path(path)
    with locked(path.parent):
        pins = pinned(read(path), sid, note)
        _write(path, pins)
    return pins


def unpin(path: str | Path, sid: str) -> list[Pin]:
    """Remove ``sid`` from the file at ``path``; returns the new pins (a damaged file is refused and left untouched)."""
    path = Path(path)
    with locked(path.parent):
        before = read(path)
        pins = unpinned(before, sid)
        if pins != before:
            _write(path, pins)
    return pins
