"""Request and response bodies of the account routes: users, their roles and API keys."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import RecordOut, examples, record_schema
from facesearch.auth.roles import Role
from facesearch.store import ApiKeyRecord, UserRecord

ROLES_DESCRIPTION = "Any of: " + ", ".join(f"`{role.value}`" for role in Role) + "."
"""The roles a user may hold, from the :class:`Role` enum (so none is left out)."""


class UserIn(BaseModel):
    model_config = examples({"name": "ivy", "roles": ["investigator"]})
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(
        default_factory=list, max_length=len(Role), description=ROLES_DESCRIPTION
    )


class UserPatch(BaseModel):
    model_config = examples({"roles": ["investigator", "auditor"]}, {"disabled": True})
    roles: list[str] | None = Field(None, max_length=len(Role), description=ROLES_DESCRIPTION)
    disabled: bool | None = None


@record_schema(UserRecord)
class UserOut(RecordOut[UserRecord]):
    model_config = examples(
        {
            "id": 4,
            "name": "ivy",
            "roles": ["investigator"],
            "disabled": False,
            "created_at": "2026-01-05T10:00:00Z",
        }
    )


class MeOut(BaseModel):
    model_config = examples(
        {
            "name": "ivy",
            "roles": ["investigator"],
            "key_prefix": "fsk_1a2b3c4d",
            "allowed_actions": ["catalog.read", "me.read", "search", "verify"],
        }
    )
    name: str
    roles: list[str]
    key_prefix: str | None
    allowed_actions: list[str]


class KeyIn(BaseModel):
    model_config = examples({"label": "ivy's laptop", "expires_in_days": 90})
    label: str = Field("", max_length=200)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


# A key is shown by its prefix and its user by name; the internal ids stay in the store.
@record_schema(ApiKeyRecord, omit=("id", "user_id"), rename={"user_name": "user"})
class KeyOut(RecordOut[ApiKeyRecord]):
    model_config = examples(
        {
            "prefix": "fsk_1a2b3c4d",
            "user": "ivy",
            "label": "ivy's laptop",
            "created_at": "2026-01-05T10:00:00Z",
            "expires_at": "2026-04-05T10:00:00Z",
            "revoked_at": None,
            "last_used_at": "2026-01-06T08:30:00Z",
        }
    )


class IssuedKeyOut(KeyOut):
    model_config = examples(
        {
            "prefix": "fsk_1a2b3c4d",
            "user": "ivy",
            "label": "ivy's laptop",
            "created_at": "2026-01-05T10:00:00Z",
            "expires_at": "2026-04-05T10:00:00Z",
            "revoked_at": None,
            "last_used_at": None,
            "key": "fsk_1a2b3c4d.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        }
    )
    key: str = Field(description="The whole key, shown this once; only its hash is stored.")
