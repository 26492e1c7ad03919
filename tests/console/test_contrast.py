"""The console's colours pass WCAG AA: 4.5:1 for text on the backgrounds it is set on."""

from __future__ import annotations

import re

import pytest

import console

CSS = (console.HERE / "static" / "console.css").read_text()
COLOURS = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS))
# (text, background) as the stylesheet sets them
PAIRS = [
    ("ink", "paper"),
    ("muted", "paper"),
    ("muted", "soft"),
    ("ink", "soft"),
    ("link", "paper"),
    ("bad", "paper"),
    ("good", "paper"),
    ("warn", "paper"),
    ("#ffffff", "band"),  # the header's and the buttons' text
]


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_passes_wcag_aa_on_its_background(text: str, background: str):
    fg = text if text.startswith("#") else COLOURS[text]
    assert ratio(fg, COLOURS[background]) >= 4.5


def test_the_contrast_formula_is_wcags():
    assert round(ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(ratio("#777777", "#ffffff"), 2) == 4.48  # the classic grey that just fails
