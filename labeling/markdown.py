"""Instructions are markdown written by requesters: untrusted. One helper renders them.

Markdown becomes HTML, then nh3 (ammonia) keeps only a small set of tags and
attributes: no script, style, iframe, event handler, `javascript:` URL or inline style
survives. Links get rel="noopener noreferrer nofollow". Pages and the live preview use
this function alone, so what the preview shows is what contributors see.
"""

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul", "del", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Characters: longer instructions are refused where they are written (the project form).
MAX_SOURCE = 50_000


def markdown_safe(source: str) -> SafeString:
    """Sanitised HTML for `source` (markdown). Empty for empty input; never raises on
    any text (NUL and lone surrogates are dropped first)."""
    text = (source or "")[:MAX_SOURCE].replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    html = markdown_lib.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 -- nh3 output: only the tags and attributes above
