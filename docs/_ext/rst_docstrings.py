"""A griffe extension for the documentation site: two docstring habits, as mkdocstrings reads them.

The docstrings follow kornia's: Google style, with formulas as reST
(``.. math::`` blocks and ``:math:`...``` roles) and an ``Example:`` section.
Before mkdocstrings parses them, this rewrites

- each math block and role into the ``$$ ... $$`` and ``$ ... $`` that
  ``pymdownx.arithmatex`` turns into math;
- ``Example:`` into ``Examples:``, the title griffe's Google parser knows, so
  that doctests render as code rather than as nested quotes.

Only the site's copy of each docstring changes; the package is not touched.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

# A `.. math::` line, then (after blank lines) the block indented under it.
_MATH_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)\.\. math::[ ]*\n(?P<body>(?:[ ]*\n)*(?:(?P=indent)[ ]+\S.*\n?(?:[ ]*\n)*)+)",
    re.MULTILINE,
)
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_EXAMPLE_TITLE = re.compile(r"^(?P<indent>[ ]*)Example:[ ]*$", re.MULTILINE)


def rewrite(text: str) -> str:
    """`text` with reST math as arithmatex math, and ``Example:`` as ``Examples:``."""

    def block(match: re.Match[str]) -> str:
        indent = match.group("indent")
        formula = textwrap.indent(textwrap.dedent(match.group("body")).strip("\n"), indent)
        return f"{indent}$$\n{formula}\n{indent}$$\n\n"

    text = _MATH_BLOCK.sub(block, text)
    text = _MATH_ROLE.sub(r"$\1$", text)
    return _EXAMPLE_TITLE.sub(r"\g<indent>Examples:", text)


class RstDocstrings(griffe.Extension):
    """Rewrites every docstring before mkdocstrings parses it."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
