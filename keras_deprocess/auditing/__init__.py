"""Auditing a pipeline: what it actually feeds a model, against what the model expects.

- `batches`: the images found in datasets, loaders, iterables and records;
- `expected`: the spec and layout a model or handle says its input has;
- `judge`: one batch described and judged with the library's own checks;
- `report`: `AuditReport`, a table, plain data and a contact sheet;
- `pipeline`: `audit`, the public function.
"""

from keras_deprocess.auditing.pipeline import audit, audit_batches
from keras_deprocess.auditing.report import AuditReport

__all__ = ["AuditReport", "audit", "audit_batches"]
