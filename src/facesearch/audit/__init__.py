"""The audit log: who searched for what and why, hash-chained and append-only.

:class:`AuditContext` is what every audited call carries; :class:`AuditLog` appends and
reads events and verifies the chain (:func:`verify_chain`).
"""

from facesearch.audit.chain import Anchor, ChainReport, verify_chain
from facesearch.audit.context import AuditContext, Justification
from facesearch.audit.log import AuditHead, AuditLog

__all__ = [
    "Anchor",
    "AuditContext",
    "AuditHead",
    "AuditLog",
    "ChainReport",
    "Justification",
    "verify_chain",
]
