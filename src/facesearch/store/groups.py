"""Gallery grants and user groups in the store: users' grants, groups, their members and
their grants.

Grants (``gallery_grants``) give a user the right to search one gallery; they go with
the gallery when it is deleted.

A group (``user_groups``) has a unique name; members (``group_members``) are users; a
grant to a group (``group_grants``) lets each member search the gallery. A user's
effective grants (:meth:`GroupRepository.granted_galleries`)
are their own and their groups'. Deleting a group deletes its memberships and grants
explicitly, in the same transaction; a gallery's group grants go with the gallery.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facesearch.errors import AlreadyExists, NotFound
from facesearch.names import name_key, shown
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import AuditHook, GrantRecord, GroupGrantRecord, GroupRecord
from facesearch.store.tables import Gallery, GalleryGrant, GroupGrant, GroupMember, User, UserGroup


def _group_row(session: Session, name: str) -> UserGroup:
    row = session.scalars(select(UserGroup).where(_validate.named(UserGroup.name, name))).first()
    if row is None:
        raise NotFound(f"group {name!r} not found")
    return row


def _user_id(session: Session, name: str) -> int:
    user_id = session.scalar(select(User.id).where(_validate.named(User.name, name)))
    if user_id is None:
        raise NotFound(f"user {name!r} not found")
    return user_id


def _record(session: Session, row: UserGroup) -> GroupRecord:
    members = session.scalars(
        select(User.name)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == row.id)
        .order_by(User.name)
    )
    galleries = session.scalars(
        select(Gallery.name)
        .join(GroupGrant, GroupGrant.gallery_id == Gallery.id)
        .where(GroupGrant.group_id == row.id)
        .order_by(Gallery.name)
    )
    return GroupRecord(
        name=row.name,
        members=tuple(members),
        galleries=tuple(galleries),
        created_by=row.created_by,
        created_at=row.created_at,
    )


class GroupRepository:
    """Gallery grants of users, and groups of users with their members and gallery grants."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- groups --------------------------------------------------------------------------
    def create_group(
        self, name: str, *, created_by: str, audit: AuditHook[GroupRecord] | None = None
    ) -> GroupRecord:
        """A new, empty group. ``name`` follows the rule of user and gallery names
        (:func:`~facesearch.store._validate.name`, stored in NFC); ``AlreadyExists`` when
        it, or a name with its :func:`facesearch.names.name_key`, is taken."""
        name = _validate.name("name", name)
        key = name_key(name)
        taken = f"group {name!r} already exists"
        with self._db.transaction("create_group", write=True, conflict=taken) as s:
            if s.scalar(select(UserGroup.id).where(UserGroup.name == name)) is not None:
                raise AlreadyExists(taken)
            like = s.scalar(select(UserGroup.name).where(UserGroup.name_key == key).limit(1))
            if like is not None:
                new, old = shown(name, like)
                raise AlreadyExists(f"group {new} looks like the existing group {old}")
            row = UserGroup(name=name, name_key=key, created_by=created_by)
            s.add(row)
            s.flush()
            record = _record(s, row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def delete_group(
        self, name: str, *, audit: AuditHook[GroupRecord] | None = None
    ) -> GroupRecord:
        """Delete the group with its memberships and grants; returns it as it was."""
        with self._db.transaction("delete_group", write=True) as s:
            row = _group_row(s, name)
            record = _record(s, row)
            s.execute(delete(GroupMember).where(GroupMember.group_id == row.id))
            s.execute(delete(GroupGrant).where(GroupGrant.group_id == row.id))
            s.delete(row)
            s.flush()
            if audit is not None:
                append_event(s, audit(record))
            return record

    def get_group(self, name: str) -> GroupRecord:
        with self._db.transaction("get_group") as s:
            return _record(s, _group_row(s, name))

    def list_groups(self, *, user: str | None = None) -> list[GroupRecord]:
        """Every group by name, or only those ``user`` belongs to."""
        with self._db.transaction("list_groups") as s:
            query = select(UserGroup).order_by(UserGroup.name)
            if user is not None:
                member_of = select(GroupMember.group_id).where(
                    GroupMember.user_id == _user_id(s, user)
                )
                query = query.where(UserGroup.id.in_(member_of))
            return [_record(s, row) for row in s.scalars(query).all()]

    # --- members -------------------------------------------------------------------------
    def add_group_member(
        self,
        group: str,
        user: str,
        *,
        added_by: str,
        audit: AuditHook[GroupRecord] | None = None,
    ) -> GroupRecord:
        """Add ``user`` to ``group``; returns the group. ``AlreadyExists`` for a member."""
        taken = f"user {user!r} is already a member of group {group!r}"
        with self._db.transaction("add_group_member", write=True, conflict=taken) as s:
            row = _group_row(s, group)
            user_id = _user_id(s, user)
            exists = select(GroupMember.id).where(
                GroupMember.group_id == row.id, GroupMember.user_id == user_id
            )
            if s.scalar(exists) is not None:
                raise AlreadyExists(taken)
            s.add(GroupMember(group_id=row.id, user_id=user_id, added_by=added_by))
            s.flush()
            record = _record(s, row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def remove_group_member(
        self, group: str, user: str, *, audit: AuditHook[GroupRecord] | None = None
    ) -> GroupRecord:
        """Remove ``user`` from ``group``; returns the group. ``NotFound`` for a non-member."""
        with self._db.transaction("remove_group_member", write=True) as s:
            row = _group_row(s, group)
            user_id = _user_id(s, user)
            member = s.scalars(
                select(GroupMember).where(
                    GroupMember.group_id == row.id, GroupMember.user_id == user_id
                )
            ).first()
            if member is None:
                raise NotFound(f"user {user!r} is not a member of group {group!r}")
            s.delete(member)
            s.flush()
            record = _record(s, row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    # --- group grants --------------------------------------------------------------------
    def add_group_grant(
        self,
        group: str,
        gallery: str,
        *,
        granted_by: str,
        audit: AuditHook[GroupGrantRecord] | None = None,
    ) -> GroupGrantRecord:
        """Let every member of ``group`` search ``gallery``. ``AlreadyExists`` when granted."""
        taken = f"group {group!r} already holds a grant on gallery {gallery!r}"
        with self._db.transaction("add_group_grant", write=True, conflict=taken) as s:
            row = _group_row(s, group)
            gallery_id = _rows.gallery_id(s, gallery)
            exists = select(GroupGrant.id).where(
                GroupGrant.group_id == row.id, GroupGrant.gallery_id == gallery_id
            )
            if s.scalar(exists) is not None:
                raise AlreadyExists(taken)
            grant = GroupGrant(group_id=row.id, gallery_id=gallery_id, granted_by=granted_by)
            s.add(grant)
            s.flush()
            record = GroupGrantRecord(group, gallery, granted_by, grant.created_at)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def remove_group_grant(
        self, group: str, gallery: str, *, audit: AuditHook[GroupGrantRecord] | None = None
    ) -> GroupGrantRecord:
        """Withdraw ``group``'s grant on ``gallery``. ``NotFound`` when there is none."""
        with self._db.transaction("remove_group_grant", write=True) as s:
            row = _group_row(s, group)
            gallery_id = _rows.gallery_id(s, gallery)
            grant = s.scalars(
                select(GroupGrant).where(
                    GroupGrant.group_id == row.id, GroupGrant.gallery_id == gallery_id
                )
            ).first()
            if grant is None:
                raise NotFound(f"group {group!r} holds no grant on gallery {gallery!r}")
            record = GroupGrantRecord(group, gallery, grant.granted_by, grant.created_at)
            s.delete(grant)
            s.flush()
            if audit is not None:
                append_event(s, audit(record))
            return record

    def list_group_grants(
        self, *, group: str | None = None, gallery: str | None = None
    ) -> list[GroupGrantRecord]:
        """Group grants, by group then gallery name (optionally of one group or gallery)."""
        with self._db.transaction("list_group_grants") as s:
            query = (
                select(UserGroup.name, Gallery.name, GroupGrant.granted_by, GroupGrant.created_at)
                .join(UserGroup, UserGroup.id == GroupGrant.group_id)
                .join(Gallery, Gallery.id == GroupGrant.gallery_id)
                .order_by(UserGroup.name, Gallery.name)
            )
            if group is not None:
                query = query.where(GroupGrant.group_id == _group_row(s, group).id)
            if gallery is not None:
                query = query.where(GroupGrant.gallery_id == _rows.gallery_id(s, gallery))
            return [GroupGrantRecord(g, n, by, at) for g, n, by, at in s.execute(query).all()]

    # --- gallery grants -----------------------------------------------------------------
    def add_grant(
        self,
        user: str,
        gallery: str,
        *,
        granted_by: str,
        audit: AuditHook[GrantRecord] | None = None,
    ) -> GrantRecord:
        """Let ``user`` search ``gallery``. ``AlreadyExists`` when granted already."""
        taken = f"user {user!r} already holds a grant on gallery {gallery!r}"
        with self._db.transaction("add_grant", write=True, conflict=taken) as s:
            user_id = _user_id(s, user)
            gallery_id = _rows.gallery_id(s, gallery)
            exists = select(GalleryGrant.id).where(
                GalleryGrant.user_id == user_id, GalleryGrant.gallery_id == gallery_id
            )
            if s.scalar(exists) is not None:
                raise AlreadyExists(taken)
            row = GalleryGrant(user_id=user_id, gallery_id=gallery_id, granted_by=granted_by)
            s.add(row)
            s.flush()
            record = GrantRecord(user, gallery, granted_by, row.created_at)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def remove_grant(
        self, user: str, gallery: str, *, audit: AuditHook[GrantRecord] | None = None
    ) -> GrantRecord:
        """Withdraw ``user``'s grant on ``gallery``. ``NotFound`` when there is none."""
        with self._db.transaction("remove_grant", write=True) as s:
            user_id = _user_id(s, user)
            gallery_id = _rows.gallery_id(s, gallery)
            row = s.scalars(
                select(GalleryGrant).where(
                    GalleryGrant.user_id == user_id, GalleryGrant.gallery_id == gallery_id
                )
            ).first()
            if row is None:
                raise NotFound(f"user {user!r} holds no grant on gallery {gallery!r}")
            record = GrantRecord(user, gallery, row.granted_by, row.created_at)
            s.delete(row)
            s.flush()
            if audit is not None:
                append_event(s, audit(record))
            return record

    def list_grants(
        self, *, user: str | None = None, gallery: str | None = None
    ) -> list[GrantRecord]:
        """Grants, by user then gallery name (optionally of one user or one gallery)."""
        with self._db.transaction("list_grants") as s:
            query = (
                select(User.name, Gallery.name, GalleryGrant.granted_by, GalleryGrant.created_at)
                .join(User, User.id == GalleryGrant.user_id)
                .join(Gallery, Gallery.id == GalleryGrant.gallery_id)
                .order_by(User.name, Gallery.name)
            )
            if user is not None:
                query = query.where(GalleryGrant.user_id == _user_id(s, user))
            if gallery is not None:
                query = query.where(GalleryGrant.gallery_id == _rows.gallery_id(s, gallery))
            return [GrantRecord(u, g, by, at) for u, g, by, at in s.execute(query).all()]

    def granted_galleries(self, user: str) -> list[str]:
        """Names of the galleries ``user`` may search, sorted (empty for an unknown user):
        their own grants and those of every group they belong to."""
        with self._db.transaction("granted_galleries") as s:
            user_id = select(User.id).where(_validate.named(User.name, user)).scalar_subquery()
            own = select(GalleryGrant.gallery_id).where(GalleryGrant.user_id == user_id)
            via_groups = (
                select(GroupGrant.gallery_id)
                .join(GroupMember, GroupMember.group_id == GroupGrant.group_id)
                .where(GroupMember.user_id == user_id)
            )
            query = (
                select(Gallery.name)
                .where(Gallery.id.in_(own) | Gallery.id.in_(via_groups))
                .order_by(Gallery.name)
            )
            return list(s.scalars(query))
