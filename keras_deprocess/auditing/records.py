"""`Record`: a plain record, a dict whose keys also read as attributes."""

from __future__ import annotations

from typing import Any

__all__ = ["Record"]


class Record(dict[str, Any]):
    """A dict whose keys read as attributes too: ``finding["kind"]`` and ``finding.kind``.

    Plain data, JSON-ready as it is (``json.dumps(record)``).

    Example:
        >>> from keras_deprocess.auditing.records import Record
        >>> finding = Record(batch="0", kind="layout")
        >>> finding.kind, finding["batch"], dict(finding)
        ('layout', '0', {'batch': '0', 'kind': 'layout'})
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this record has no {name!r}; it holds {sorted(self)}") from None
