"""Template filters for NEAR values."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# An implicit account id is 64 hex characters: too wide for a table cell or a phone.
_IMPLICIT_LEN = 64


@register.filter
def near_account(account_id: str | None) -> SafeString | str:
    """An account id as people read it: an implicit (64-hex) account shortened to its
    first 8 and last 6 characters on screen, the whole id in its title and for screen
    readers; a named account unchanged. Escaped either way."""
    if not account_id:
        return ""
    text = str(account_id)
    if len(text) == _IMPLICIT_LEN and all(c in "0123456789abcdef" for c in text):
        return format_html(
            '<span class="near-account" title="{}"><span aria-hidden="true">{}…{}</span>'
            '<span class="visually-hidden">{}</span></span>',
            text,
            text[:8],
            text[-6:],
            text,
        )
    return text
