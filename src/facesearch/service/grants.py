"""Gallery grants, as part of :class:`~facesearch.service.FaceSearch`.

An administrator grants a user the right to search one gallery. A search made for a user
(the API and web UI pass the caller's grants as ``allowed_galleries``) names galleries or
defaults to all the user's granted ones; it never touches an ungranted gallery (a named
one is refused with 403, audited), and its audit event records the galleries actually
searched. Verify compares two uploaded photos and touches no gallery, so it needs no
grant. The command line is the local operator, who holds the data folder and so every
gallery: its searches pass no ``allowed_galleries`` and are unrestricted (still audited).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import PermissionDenied
from facesearch.service.accountability import Accountability
from facesearch.store import GrantRecord, Store


class Grants:
    """The grant methods of :class:`~facesearch.service.FaceSearch`."""

    store: Store
    audit: AuditLog
    _accountability: Accountability

    def grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """Let ``user`` search ``gallery``. Audited (``grant.add``)."""
        try:
            record = self.store.add_grant(
                user,
                gallery,
                granted_by=context.actor,
                audit=lambda g: context.event(
                    "grant.add", target=f"user:{g.user_name}", galleries=(g.gallery_name,)
                ),
            )
        except Exception as err:
            self._accountability.failed(
                context, "grant.add", err, target=f"user:{user}", galleries=(gallery,)
            )
            raise
        self.audit.committed()
        return record

    def revoke_grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """Withdraw ``user``'s grant on ``gallery``. Audited (``grant.remove``)."""
        try:
            record = self.store.remove_grant(
                user,
                gallery,
                audit=lambda g: context.event(
                    "grant.remove", target=f"user:{g.user_name}", galleries=(g.gallery_name,)
                ),
            )
        except Exception as err:
            self._accountability.failed(
                context, "grant.remove", err, target=f"user:{user}", galleries=(gallery,)
            )
            raise
        self.audit.committed()
        return record

    def list_grants(
        self, *, user: str | None = None, gallery: str | None = None
    ) -> list[GrantRecord]:
        return self.store.list_grants(user=user, gallery=gallery)

    def granted_galleries(self, user: str) -> list[str]:
        """The galleries ``user`` may search, by name."""
        return self.store.granted_galleries(user)


def galleries_to_search(
    named: Sequence[str] | None, allowed: Collection[str] | None
) -> Sequence[str] | None:
    """The galleries a search covers: ``named`` (``None``: all), within ``allowed``
    (``None``: unrestricted). ``PermissionDenied`` names the first ungranted gallery, or
    says that none is granted."""
    if allowed is None:
        return named
    granted = set(allowed)
    if named:
        for name in named:
            if name not in granted:
                raise PermissionDenied(f"you hold no grant to search gallery {name!r}")
        return named
    if not granted:
        raise PermissionDenied("no gallery is granted to you: an administrator grants galleries")
    return sorted(granted)
