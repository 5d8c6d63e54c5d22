"""Text that came from a URL, a file or a visitor, made safe to show inside Streamlit's Markdown.

Streamlit renders the body of ``st.warning``, ``st.info``, ``st.caption`` and
``st.markdown`` as Markdown, so a deep-link value such as
``[CLICK HERE](http://evil.example/login)`` would become a live link and an
image URL would be fetched by the visitor's browser. :func:`plain`
backslash-escapes every ASCII punctuation character (CommonMark allows that
for all of them), which also breaks bare-URL autolinks (``http\\://``,
``www\\.``) and colour or icon directives; the text reads as typed.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def plain(text: object) -> str:
    """``text`` as literal characters in Markdown (no links, images, HTML, emphasis or directives); newlines kept as spaces."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
