"""tests/tetherlib/paths.py is the Python side of the gnmic text path grammar: it must accept
and refuse what crates/tether-syntax/src/text_path.rs does (the same cases as its tests)."""

from __future__ import annotations

import pytest

from tetherlib.paths import elems


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("/", []),
        ("/interfaces/interface[name=Gi1/1]/state", [("interfaces", {}), ("interface", {"name": "Gi1/1"}), ("state", {})]),
        ("/a/b[x=1][y=a\\]b]/c/", [("a", {}), ("b", {"x": "1", "y": "a]b"}), ("c", {})]),
        ("/link-state/*/group[id=*]/...", [("link-state", {}), ("*", {}), ("group", {"id": "*"}), ("...", {})]),
        ("a/b", [("a", {}), ("b", {})]),
    ],
)
def test_accepts_what_tether_syntax_accepts(text, want):
    assert elems(text) == want


@pytest.mark.parametrize("text", ["/a//b", "/a[k]", "/a[k=1", "/a]", "/[k=1]", "/a[=1]", "/a[k=1]x", "/a[k=v\\"])
def test_refuses_what_tether_syntax_refuses(text):
    with pytest.raises(ValueError):
        elems(text)
