"""The decision report: one HTML document that parses, holds the figure inline, each pick, and every note escaped."""

from html.parser import HTMLParser

import pandas as pd

from ofa_dash.export import model_card
from ofa_dash.shortlist import Pin
from ofa_dash.space import get_space
from ofa_dash.ui import figures
from ofa_dash.ui.report import ReportPick, decision_report
from ofa_dash.ui.subnet_view import objectives_table, predicted_payload

HOSTILE = '<script>alert(1)</script> & "quotes"'


class _Reader(HTMLParser):
    """Collects the tags, the text outside scripts, the scripts, and the ids of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.sources: list[str] = []  # src attributes: anything fetched when the file opens

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [v for k, v in attrs if k == "src" and v]
        self.ids |= {v for k, v in attrs if k == "id" and v}
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def _picks() -> list[ReportPick]:
    space = get_space("cifar10")
    out = []
    for arch, note in ((space.largest(), HOSTILE), (space.smallest(), "second choice\nline two")):
        table = objectives_table(space, arch)
        card = model_card.preview(space, arch, predicted_payload(table, arch))
        out.append(ReportPick(Pin(arch.id, note, "2026-12-01T10:00:00Z"), table, card))
    return out


def _front() -> object:
    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "top1": [90.0, 93.0],
            "latency:cpu": [1.0, 2.0],
            "algorithm": ["nsga2", "nsga2"],
            "pareto": [True, True],
            "top1_source": ["predicted"] * 2,
        }
    )
    return figures.front_2d(df, "latency:cpu", ["cpu"], marks={"shortlist": [1]})


def test_the_report_parses_and_holds_figure_picks_and_escaped_notes():
    picks = _picks()
    page = decision_report("cifar10", picks, _front(), "2026-12-01 10:00 UTC", "Front: every stored run.")
    reader = _Reader()
    reader.feed(page)
    reader.close()
    text = "".join(reader.text)
    # the hostile note is text, never a tag: escaped in the source, read back verbatim
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert HOSTILE in text
    assert not any("alert(1)" in s for s in reader.scripts)
    assert "second choice\nline two" in text
    # the figure is inline (plotly.js itself, no CDN), and each pick has its section, objectives with sources, and card
    assert "front" in reader.ids and not reader.sources and any("Plotly" in s and len(s) > 1_000_000 for s in reader.scripts)
    for p in picks:
        assert f"pick-{p.pin.id}" in reader.ids
        assert f"Model card: ofa-dash subnet {p.pin.id} (cifar10)" in text
    assert "Objectives and where each comes from" in text and "analytic counters" in text
    assert text.count("MACs") >= len(picks)


def test_an_empty_shortlist_and_no_front_still_make_a_document():
    page = decision_report("cifar10", [], None, "now")
    reader = _Reader()
    reader.feed(page)
    assert "Nothing is pinned yet." in "".join(reader.text) and "html" in reader.tags


def test_the_preview_card_says_what_a_card_says_before_export():
    space = get_space("cifar10")
    arch = space.largest()
    card = model_card.preview(space, arch, {"top1": 95.0, "source": "predicted: test", "latency_ms": {"cpu": 1.5}, "sources": {"cpu": "the cpu table"}})
    assert card["cost"] == model_card.cost(space, arch)
    assert card["accuracy"]["predicted"] == {"top1": 95.0, "source": "predicted: test"}
    assert [r["device"] for r in card["latency"]] == ["cpu"] and card["latency"][0]["source"] == "estimate: the cpu table"
