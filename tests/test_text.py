import re

from ofa_dash.ui.text import plain


def test_plain_escapes_every_markdown_punctuation_and_keeps_the_text():
    value = "[CLICK HERE](http://evil.example/login) ![i](x.png) <b> :red[x] *a* `c` www.evil.example"
    out = plain(value)
    assert out.replace("\\", "") == value
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\.", "", out))  # no punctuation left unescaped
    assert plain("two\\nlines") == "two\\\\nlines" and plain("a\nb") == "a b"
