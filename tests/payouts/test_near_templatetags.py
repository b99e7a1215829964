"""Account ids in pages: implicit ones shortened for the eye, whole for everything else."""

from django.template import Context, Template

IMPLICIT = "4c09c4dbb1932bb1c6e24664720b5e05405e13a827a0cf295a71fd88036502ea"


def _render(value) -> str:
    return Template("{% load near %}{{ value|near_account }}").render(Context({"value": value}))


def test_an_implicit_account_is_shortened_on_screen_and_whole_for_readers() -> None:
    assert _render(IMPLICIT) == (
        f'<span class="near-account" title="{IMPLICIT}">'
        '<span aria-hidden="true">4c09c4db…6502ea</span>'
        f'<span class="visually-hidden">{IMPLICIT}</span></span>'
    )


def test_a_named_account_is_unchanged_and_escaped() -> None:
    assert _render("ada.testnet") == "ada.testnet"
    assert _render('<b>"x"</b>') == "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"
    assert _render("A" * 64) == "A" * 64  # not hex: a named account's length
    assert _render(None) == ""
