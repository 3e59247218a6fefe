"""Response bodies of the system routes: liveness, readiness, the index against the store."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import examples


class HealthOut(BaseModel):
    model_config = examples({"status": "ok"})
    status: str


class ReadyOut(BaseModel):
    model_config = examples(
        {"ready": True, "index": "loaded", "problem": None},
        {"ready": False, "index": None, "problem": None},
        {
            "ready": False,
            "index": "loaded",
            "problem": "the log ends at event 41 but event 42 was recorded "
            "(events were removed from its end)",
        },
    )
    ready: bool
    index: str | None = Field(None, description="What opening the index took, once ready.")
    problem: str | None = Field(
        None,
        description="Why the service refuses work although it started: the audit log "
        "disagrees with its anchor, so no event can be appended until an operator runs "
        "`facesearch audit acknowledge-cut`.",
    )


class IndexOut(BaseModel):
    model_config = examples(
        {
            "model_id": "dlib-resnet-v1",
            "backend": "faiss",
            "n_index": 352,
            "n_store": 352,
            "in_sync": True,
            "opened": "loaded",
            "added_on_open": 0,
            "removed_on_open": 0,
        }
    )
    model_id: str
    backend: str
    n_index: int
    n_store: int
    in_sync: bool
    opened: str
    added_on_open: int
    removed_on_open: int
