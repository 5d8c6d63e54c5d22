"""The shortlist store: round trip, refusal of damaged files (nothing changed on disk), concurrent pins."""

import json
import threading

import pytest

from ofa_dash import shortlist
from ofa_dash.shortlist import Pin, ShortlistError
from ofa_dash.workspace import Workspace


def test_round_trip_in_the_space_folder(tmp_path):
    path = Workspace(tmp_path).space("cifar10").shortlist
    assert shortlist.read(path) == []
    shortlist.pin(path, "abc1", "fast enough")
    shortlist.pin(path, "def2", "second")
    shortlist.pin(path, "ABC1", "fast enough, 0.3 ms")  # same id: the note is replaced, the place kept
    pins = shortlist.read(path)
    assert [(p.id, p.note) for p in pins] == [("abc1", "fast enough, 0.3 ms"), ("def2", "second")]
    assert all(p.pinned_at.endswith("Z") for p in pins)
    assert [p.id for p in shortlist.unpin(path, "abc1")] == ["def2"]
    assert [p.id for p in shortlist.read(path)] == ["def2"]


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "cannot be read as JSON"),
        (json.dumps({"version": 1, "pins": [{"id": "../etc", "note": ""}]}), "not a subnet id"),
        (json.dumps({"version": 1, "pins": [{"id": "abc", "note": "x" * (shortlist.MAX_NOTE + 1)}]}), "at most"),
        (json.dumps({"version": 2, "pins": []}), "version"),
        (json.dumps([1, 2]), "not a shortlist file"),
    ],
)
def test_a_damaged_file_is_refused_in_one_line_and_left_as_it_is(tmp_path, content, words):
    path = tmp_path / "shortlist.json"
    path.write_text(content)
    with pytest.raises(ShortlistError, match=words) as err:
        shortlist.read(path)
    assert "\n" not in str(err.value)
    with pytest.raises(ShortlistError):
        shortlist.pin(path, "abc", "note")
    with pytest.raises(ShortlistError):
        shortlist.unpin(path, "abc")
    assert path.read_text() == content


def test_bad_pins_change_nothing(tmp_path):
    path = tmp_path / "shortlist.json"
    shortlist.pin(path, "abc", "kept")
    before = path.read_bytes()
    with pytest.raises(ShortlistError, match="not a subnet id"):
        shortlist.pin(path, "<b>x</b>", "note")
    with pytest.raises(ShortlistError, match="at most"):
        shortlist.pin(path, "abd", "y" * (shortlist.MAX_NOTE + 1))
    assert path.read_bytes() == before


def test_notes_are_plain_text_kept_verbatim_without_control_characters():
    pins = shortlist.pinned([], "abc", "<script>alert(1)</script>\x00\x1b ok\nline 2", when="t")
    assert pins == [Pin("abc", "<script>alert(1)</script> ok\nline 2", "t")]


def test_concurrent_pins_all_survive(tmp_path):
    path = tmp_path / "shortlist.json"
    ids = [f"s{i}" for i in range(24)]
    threads = [threading.Thread(target=shortlist.pin, args=(path, sid, f"note {sid}")) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.id for p in shortlist.read(path)) == sorted(ids)
    assert not [p for p in tmp_path.iterdir() if p.name != "shortlist.json"]  # no temporaries left behind


def test_full_shortlist_is_refused():
    pins = [Pin(f"s{i}") for i in range(shortlist.MAX_PINS)]
    with pytest.raises(ShortlistError, match="full"):
        shortlist.pinned(pins, "new")
    assert len(shortlist.pinned(pins, "s0", "re-noted")) == shortlist.MAX_PINS
