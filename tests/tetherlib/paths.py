"""The gnmic text path grammar, the one the README and gnmic use: `/a/b[k=v][k2=v2]/c`.

Key values may contain `/`, and `\\]` or `\\\\` inside a value stand for `]` and `\\`, as in
gnmic and crates/tether-syntax (the Rust side of the same grammar).
"""

from __future__ import annotations


def elems(text: str) -> list[tuple[str, dict[str, str]]]:
    """`/a/b[k=v]/c` → [("a", {}), ("b", {"k": "v"}), ("c", {})]; ValueError on what
    tether-syntax's `text_path::parse` refuses (`/a//b`, `/a[k]`, `/a[k=1`, `/a]`, `/[k=1]`,
    `/a[=1]`, `/a[k=1]x`, a trailing `\\` in a value)."""

    def bad(why: str) -> ValueError:
        return ValueError(f"path {text[:80]!r}: {why}")

    out: list[tuple[str, dict[str, str]]] = []
    name, keys = "", {}
    i, n = (1 if text.startswith("/") else 0), len(text)

    def finish():
        if not name:
            if keys:
                raise bad("keys without an element name")
            return
        out.append((name, dict(keys)))

    while i < n:
        c = text[i]
        i += 1
        if c == "/":
            if not name:
                raise bad("empty element (two '/' in a row)")
            finish()
            name, keys = "", {}
        elif c == "[":
            if not name:
                raise bad("'[' before an element name")
            eq = i
            while eq < n and text[eq] not in "=]":
                eq += 1
            if eq >= n or text[eq] == "]":
                raise bad("key without '=value'")
            key, i, value = text[i:eq].strip(), eq + 1, []
            while True:
                if i >= n:
                    raise bad("unclosed '['")
                v = text[i]
                i += 1
                if v == "\\":
                    if i >= n:
                        raise bad("'\\' at the end")
                    value.append(text[i])
                    i += 1
                elif v == "]":
                    break
                else:
                    value.append(v)
            if not key:
                raise bad("empty key name")
            keys[key] = "".join(value)
            if i < n and text[i] not in "[/":
                raise bad("text after ']' (expected '[', '/' or the end)")
        elif c == "]":
            raise bad("']' without '['")
        elif c.isspace() and not name:
            continue
        else:
            if keys:
                raise bad("text after ']'")
            name += c
    finish()
    return out


def path(pb, text: str, origin: str = ""):
    """gnmic text → gnmi.Path of the stubs module `pb`."""
    return pb.Path(origin=origin, elem=[pb.PathElem(name=name, key=keys) for name, keys in elems(text)])
