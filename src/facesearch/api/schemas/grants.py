"""Request and response bodies of the gallery-grant and group routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import RecordOut, examples, record_schema
from facesearch.store import GrantRecord, GroupGrantRecord, GroupRecord


class GrantIn(BaseModel):
    model_config = examples({"user": "ivy", "gallery": "press-archive"})
    user: str = Field(min_length=1, max_length=200)
    gallery: str = Field(min_length=1, max_length=200)


@record_schema(GrantRecord, rename={"user_name": "user", "gallery_name": "gallery"})
class GrantOut(RecordOut[GrantRecord]):
    """A user's right to search a gallery."""

    model_config = examples(
        {
            "user": "ivy",
            "gallery": "press-archive",
            "granted_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )


class GroupIn(BaseModel):
    model_config = examples({"name": "robbery-squad"})
    name: str = Field(min_length=1, max_length=200, description="The group's name.")


class GroupMemberIn(BaseModel):
    model_config = examples({"user": "ivy"})
    user: str = Field(min_length=1, max_length=200, description="A user name.")


class GroupGrantIn(BaseModel):
    model_config = examples({"gallery": "press-archive"})
    gallery: str = Field(min_length=1, max_length=200, description="A gallery name.")


@record_schema(GroupRecord)
class GroupOut(RecordOut[GroupRecord]):
    """A group of users and the galleries its members may search through it."""

    model_config = examples(
        {
            "name": "robbery-squad",
            "members": ["ivy", "omar"],
            "galleries": ["press-archive"],
            "created_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )


@record_schema(GroupGrantRecord, rename={"group_name": "group", "gallery_name": "gallery"})
class GroupGrantOut(RecordOut[GroupGrantRecord]):
    """A group's right to search a gallery."""

    model_config = examples(
        {
            "group": "robbery-squad",
            "gallery": "press-archive",
            "granted_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )
