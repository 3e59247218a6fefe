"""The one settings object of facesearch.

Read from the environment with the ``FACESEARCH_`` prefix; nested groups use ``__``
(``FACESEARCH_IMAGING__MAX_BYTES=10000000``). Build it once and pass it in; nothing in
facesearch reads the environment anywhere else.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DetectorKind(StrEnum):
    """Registry keys of the face detectors."""

    DLIB_HOG = "dlib-hog"
    DLIB_CNN = "dlib-cnn"
    YUNET = "yunet"


class EmbedderKind(StrEnum):
    """Registry keys of the face embedders. A packaged model's key is its ``model_id``; an
    ONNX recognizer by file (``arcface-onnx``) takes its ``model_id`` from its settings
    (``embedding.onnx``: name plus the first hex digits of the file's sha256)."""

    DLIB_RESNET_V1 = "dlib-resnet-v1"
    ARCFACE_ONNX = "arcface-onnx"


class ChannelOrder(StrEnum):
    """Order of the colour channels an ONNX recognizer takes."""

    RGB = "rgb"
    BGR = "bgr"


class EmbeddingRuntime(StrEnum):
    """What runs the embedder's network: ONNX Runtime on the converted file, or dlib itself."""

    ONNXRUNTIME = "onnxruntime"
    DLIB = "dlib"


class IndexBackend(StrEnum):
    """Where vectors live: ``faiss`` in each process (embedded, saved under data_dir), or
    ``milvus``, one collection per model shared by every API process."""

    FAISS = "faiss"
    MILVUS = "milvus"


class MilvusIndexType(StrEnum):
    """Milvus index types offered (all searched with metric IP; approximate ones re-scored
    exactly from the store). DISKANN is not offered: its build fails on Milvus 2.3.5."""

    FLAT = "FLAT"
    HNSW = "HNSW"
    IVF_FLAT = "IVF_FLAT"
    IVF_SQ8 = "IVF_SQ8"
    IVF_PQ = "IVF_PQ"


class MilvusConsistency(StrEnum):
    """Milvus consistency levels (what a search is guaranteed to see of earlier writes)."""

    STRONG = "Strong"
    BOUNDED = "Bounded"
    SESSION = "Session"
    EVENTUALLY = "Eventually"


class IndexKind(StrEnum):
    """Exact (``flat``), approximate with exact re-ranking (``ivf``), or chosen by size."""

    FLAT = "flat"
    IVF = "ivf"
    AUTO = "auto"


class IVFCodes(StrEnum):
    """Compressed codes of an ``ivf`` index's candidate search (the re-rank is exact either way).

    ``pq``: product quantisation with FAISS's 4-bit fast-scan kernels, ``dim / 2``
    sub-quantisers of 4 bits (32 bytes a 128-d face; André, Kermarrec & Le Scouarnec,
    "Cache locality is not enough", VLDB 2015; FAISS ``IndexIVFPQFastScan``).
    ``sq8``: 8-bit scalar quantisation, one byte a dimension (FAISS
    ``IndexIVFScalarQuantizer`` ``QT_8bit``).
    """

    PQ = "pq"
    SQ8 = "sq8"


class ImagingSettings(BaseModel):
    max_bytes: int = Field(20_000_000, gt=0, description="Largest accepted upload, in bytes.")
    max_pixels: int = Field(
        40_000_000, gt=0, description="Largest accepted width x height, checked before decoding."
    )
    min_side: int = Field(32, gt=0, description="Smallest accepted shorter side, in pixels.")


class DetectionSettings(BaseModel):
    detector: DetectorKind = Field(DetectorKind.DLIB_HOG, description="Face detector to use.")
    fallback_detector: DetectorKind | None = Field(
        DetectorKind.DLIB_CNN,
        description="Detector tried when the first finds no face (slower; finds turned faces). "
        "`none` to disable.",
    )
    min_face_px: int = Field(
        40,
        ge=10,
        description="Smallest face (box side, pixels) to find, at every image size: the image "
        "is presented to the detector at window/min_face_px (80/40: 2x), large images in "
        "overlapping tiles. Halving it costs about 4x the detection CPU (at 40: one pass for a "
        "250 px photo, about 13 s of one core for a 24 MP photo; see docs/performance.md).",
    )
    fallback_min_face_px: int = Field(
        80,
        ge=10,
        description="Smallest face the fallback detector looks for. The CNN's window is 80 "
        "px: each halving of this upsamples the image 2x for the fallback and costs it about "
        "4x the CPU (80: no upsampling, ~0.5 s for a 250 px image on one core).",
    )
    fallback_max_pixels: int | None = Field(
        2_000_000,
        gt=0,
        description="CPU budget of the fallback detector: it sees an image at a scale where "
        "the whole image holds at most this many pixels, so in larger images it looks only "
        "for faces larger than fallback_min_face_px (logged; a 24 MP photo: faces from 280 "
        "px, about 20 s of one core, against 3 to 5 minutes unbounded). `none`: no budget.",
    )
    max_detect_side: int = Field(
        1600,
        ge=400,
        description="Longest side (pixels, at detector resolution) of one detector pass; "
        "an image larger than this at its detection scale is cut into overlapping tiles "
        "(memory stays bounded, CPU grows with the image's area).",
    )
    score_threshold: float = Field(
        0.0, description="Minimum detector score (HOG adjust threshold / CNN confidence)."
    )
    yunet_model_path: Path | None = Field(
        None,
        description="YuNet ONNX file for detector `yunet` (no default; e.g. yunet_s_dynamic.onnx).",
    )
    yunet_model_sha256: str | None = Field(
        None, description="sha256 the YuNet file must have (checked when it is loaded)."
    )
    yunet_score_threshold: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Minimum YuNet face score (keep below 0.9: true LFW faces score from 0.867).",
    )


#: What an operator-given model name may look like (it names folders and files).
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,47}$"


class OnnxRecognizerSettings(BaseModel):
    """An ArcFace-style ONNX recognizer by file (embedding model ``arcface-onnx``).

    Channel order and input normalisation come from these settings or, where unset, from
    a manifest next to the file (same name, ``.json``; see the README). The input tensor
    is ``(chip - input_mean) / input_std``, NCHW float32, from 0-255 pixels.
    """

    name: str | None = Field(
        None,
        pattern=MODEL_NAME_PATTERN,
        description="Name you give the model (lower case, digits, . _ -); its model_id is "
        "this name plus the first 8 hex digits of the file's sha256 (e.g. edgeface-xs-e0e6caf2).",
    )
    path: Path | None = Field(None, description="The ONNX file (no default; nothing downloaded).")
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="sha256 the file must have (checked when it is loaded).",
    )
    channel_order: ChannelOrder | None = Field(
        None, description="`rgb` or `bgr` (unset: from the manifest)."
    )
    input_mean: float | None = Field(
        None, description="Subtracted from 0-255 pixels (unset: from the manifest)."
    )
    input_std: float | None = Field(
        None, gt=0, description="Divides the centred pixels (unset: from the manifest)."
    )


class EmbeddingSettings(BaseModel):
    model: EmbedderKind = Field(
        EmbedderKind.DLIB_RESNET_V1,
        description="Face embedding model: `dlib-resnet-v1` (packaged) or `arcface-onnx` (an "
        "ONNX file you provide, see `embedding.onnx`; needs detector `yunet`).",
    )
    jitters: int = Field(
        0,
        ge=0,
        le=100,
        description="Random jitters averaged per face (slower, slightly better; runs on dlib).",
    )
    runtime: EmbeddingRuntime = Field(
        EmbeddingRuntime.ONNXRUNTIME,
        description=(
            "What runs dlib's ResNet: onnxruntime (converted file, same descriptors) or dlib."
        ),
    )
    batch_size: int = Field(
        16,
        ge=1,
        le=1024,
        description="Images per enroll-folder worker task; their chips go in one embedder call.",
    )
    execution_providers: list[str] = Field(
        default_factory=list,
        description=(
            "ONNX Runtime execution providers in order (empty: CUDA when present, else CPU)."
        ),
    )
    cache_dir: Path | None = Field(
        None, description="Folder for converted models (default: data_dir/models)."
    )
    intra_op_threads: int = Field(
        1, ge=1, description="ONNX Runtime threads per process (enroll workers are one per core)."
    )
    onnx: OnnxRecognizerSettings = Field(default_factory=OnnxRecognizerSettings)


class QualitySettings(BaseModel):
    min_interocular_px: float = Field(
        12.0,
        ge=0,
        description="Enrollment rejects faces whose eye distance is below this. Keep it "
        "under 0.3 x detection.min_face_px: a face of that size has an eye distance of "
        "about 14 to 16 px at 40.",
    )
    min_sharpness: float = Field(
        5.0, ge=0, description="Enrollment rejects faces whose chip Laplacian variance is below."
    )
    min_frontalness: float = Field(
        0.2, ge=0, le=1, description="Enrollment rejects faces turned further than this allows."
    )
    min_score: float = Field(
        0.0, ge=0, le=1, description="Enrollment rejects faces whose overall quality is below."
    )


class SearchSettings(BaseModel):
    """Thresholds are set as false-match rates and turned into similarities with the
    model's calibration table (``facesearch calibrate``), never as raw scores."""

    verify_target_fmr: float = Field(
        1e-3,
        gt=0,
        le=1,
        description="False-match rate at which verify's threshold is set (1:1 comparisons).",
    )
    search_target_fmr: float = Field(
        1e-4,
        gt=0,
        le=1,
        description="False-match rate per comparison at which the search threshold is set.",
    )
    search_target_fpir: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="If set, the search threshold is instead set so that a search of the "
        "galleries at hand returns any false candidate with this probability (FPIR); "
        "it rises with gallery size. `none` to use the FMR target.",
    )
    calibration_path: Path | None = Field(
        None,
        description="Calibration table to use instead of the model's own (data_dir/calibration/"
        "<model_id>.json, else the one shipped; JSON written by `facesearch calibrate`); it "
        "must be the configured model's.",
    )
    default_k: int = Field(
        10, ge=1, le=50, description="Candidates returned when k is not given (at most max_k)."
    )
    max_k: int = Field(50, ge=1, le=50, description="Largest k a search may ask for (1 to 50).")

    @model_validator(mode="after")
    def _default_k_within_max_k(self) -> SearchSettings:
        if self.default_k > self.max_k:
            raise ValueError(f"default_k ({self.default_k}) exceeds max_k ({self.max_k})")
        return self


class MilvusSettings(BaseModel):
    """The ``milvus`` index backend (``index.backend=milvus``; install ``.[milvus]``)."""

    uri: str = Field(
        "http://127.0.0.1:19530", description="Milvus server URI (`http://host:19530`)."
    )
    token: SecretStr | None = Field(
        None, description="Milvus token (`user:password` or an API key); `none`: no auth."
    )
    user: str | None = Field(None, description="Milvus user (instead of `token`).")
    password: SecretStr | None = Field(None, description="Milvus password of `user`.")
    collection_prefix: str = Field(
        "facesearch_",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,100}$",
        description="Collection names are this + the model id (sanitised) + `_d` + dim.",
    )
    index_type: MilvusIndexType = Field(
        MilvusIndexType.HNSW,
        description="`HNSW` (default), `IVF_FLAT`, `IVF_SQ8`, `IVF_PQ` or `FLAT` (exact). "
        "Used when the collection is created; approximate types are re-scored exactly "
        "from the store.",
    )
    hnsw_m: int = Field(32, ge=4, le=64, description="HNSW graph degree M (build).")
    hnsw_ef_construction: int = Field(200, ge=8, le=512, description="HNSW efConstruction (build).")
    hnsw_ef: int = Field(
        128, ge=1, le=32768, description="HNSW efSearch (raised to the candidates fetched)."
    )
    nlist: int = Field(1024, ge=1, le=65536, description="IVF lists (IVF_* types, build).")
    nprobe: int = Field(64, ge=1, le=65536, description="IVF lists a search visits (IVF_*).")
    pq_m: int = Field(
        32, ge=1, description="IVF_PQ sub-quantizers (must divide the dimension; 128-d: 32)."
    )
    pq_nbits: int = Field(8, ge=1, le=16, description="IVF_PQ bits per sub-quantizer code.")
    consistency_level: MilvusConsistency = Field(
        MilvusConsistency.STRONG,
        description="What a search sees: `Strong` every write acknowledged before it, by any "
        "process; `Bounded` may miss the last seconds; `Session` only this process's "
        "writes; `Eventually` no guarantee (README, Scaling out).",
    )
    timeout_s: float = Field(
        10.0, gt=0, le=600, description="Seconds one Milvus call may take before it fails."
    )
    reconcile_interval_s: int = Field(
        60,
        ge=0,
        le=86400,
        description="Seconds between catch-ups that reconcile the collection with the store "
        "(adds and deletions since the watermark); 0: only at start-up.",
    )
    batch_size: int = Field(
        5000, ge=1, le=100_000, description="Rows per Milvus insert (reconcile, rebuild)."
    )


class IndexSettings(BaseModel):
    backend: IndexBackend = Field(
        IndexBackend.FAISS,
        description="Vector index backend: `faiss` (in each process, saved under the data "
        "folder) or `milvus` (one collection shared by every API process; `.[milvus]`).",
    )
    save_every: int = Field(
        200, ge=1, description="Persist the index after this many added or removed faces."
    )
    threads: int = Field(
        1,
        ge=1,
        description="Threads one search may use (FAISS OpenMP); 1 keeps single-probe latency "
        "low when several requests run at once.",
    )
    kind: IndexKind = Field(
        IndexKind.AUTO,
        description="`flat` (exact scan), `ivf` (IVF candidates re-ranked exactly) or "
        "`auto` (flat below `auto_crossover` faces, ivf above; a switch rebuilds in the "
        "background while the old index serves).",
    )
    auto_crossover: int = Field(
        100_000,
        ge=1,
        description="Gallery size at which `auto` switches to `ivf` (back to `flat` below half "
        "of it); measured in docs/performance.md.",
    )
    codes: IVFCodes = Field(
        IVFCodes.PQ,
        description="Codes of the `ivf` candidate search: `pq` (4-bit PQ fast-scan, 32 bytes a "
        "128-d face) or `sq8` (8-bit scalar, 128 bytes); docs/performance.md compares them. "
        "A change rebuilds the index in the background.",
    )
    nprobe: int | None = Field(
        None,
        ge=1,
        description="IVF lists an approximate search visits; unset: a quarter of the index's "
        "lists (at 1M and 10M faces that returned 99.9% of the candidates at or above the "
        "search threshold; fewer lists are faster and miss more, docs/performance.md).",
    )
    rerank: int | None = Field(
        None,
        ge=1,
        description="Candidates an approximate search re-ranks by their exact cosine (k'); "
        "unset: 1,024 for `pq` codes, 256 for `sq8` codes and for Milvus.",
    )
    train_min: int = Field(
        20_000,
        ge=1,
        description="Faces before an `ivf` index trains; until then it scans its re-rank file "
        "exactly.",
    )
    exact_subset_max: int = Field(
        200_000,
        ge=1,
        description="Largest gallery filter an `ivf` index scans exactly; larger filters use "
        "the IVF with an id selector.",
    )
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)


class PrivacySettings(BaseModel):
    """Erasure by face and the suppression list; thresholds set as false-match rates."""

    erasure_target_fmr: float = Field(
        1e-4,
        gt=0,
        le=1,
        description="False-match rate at which an erasure request proposes faces for "
        "deletion (a curator confirms them).",
    )
    suppression_target_fmr: float = Field(
        1e-4,
        gt=0,
        le=1,
        description="False-match rate at which a face counts as a suppressed person's: "
        "enrollment is refused and search never returns it.",
    )

    @model_validator(mode="after")
    def _suppression_covers_erasure(self) -> PrivacySettings:
        # A higher FMR is a lower similarity threshold: with suppression at least as broad
        # as erasure, every face an erasure would propose also counts as suppressed.
        if self.suppression_target_fmr < self.erasure_target_fmr:
            raise ValueError(
                f"suppression_target_fmr ({self.suppression_target_fmr:g}) is stricter than "
                f"erasure_target_fmr ({self.erasure_target_fmr:g}): faces an erasure finds "
                "could be enrolled again"
            )
        return self


class RetentionSettings(BaseModel):
    """Retention periods are set per gallery; this is how often the server applies them."""

    interval_s: int = Field(
        3600,
        ge=0,
        le=7 * 86400,
        description="Seconds between the API server's retention purges (the first runs at "
        "start-up); 0 turns the periodic purge off (`facesearch retention apply` still works).",
    )


class AuthSettings(BaseModel):
    key_ttl_days: int = Field(
        365, ge=1, le=3650, description="Days an API key is valid when its lifetime is not given."
    )
    failed_attempts_per_minute: int = Field(
        30,
        ge=0,
        le=100_000,
        description=(
            "Failed authentications one client address may make in a minute before its "
            "further attempts are refused (429) without being checked; 0: no limit."
        ),
    )


class AuditSettings(BaseModel):
    min_purpose_length: int = Field(
        10, ge=1, le=1000, description="Fewest characters a search or verify purpose may have."
    )
    store_probes: bool = Field(
        False,
        description="Keep probe images (data_dir/probes/<sha256>); off: only their sha256 is kept.",
    )


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address `facesearch serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `facesearch serve` listens on.")
    max_files: int = Field(
        20, ge=1, le=1000, description="Most image files one enroll request may upload."
    )


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """All settings of facesearch. See the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="FACESEARCH_",
        env_nested_delimiter="__",
        env_parse_none_str="none",
        extra="ignore",
    )

    data_dir: Path = Field(Path("data"), description="Folder for the database and the indexes.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store; default: SQLite file facesearch.db in data_dir.",
    )
    workers: int = Field(
        default_factory=_default_workers,
        ge=1,
        description="Processes used by enroll-folder (default: the number of cores).",
    )
    imaging: ImagingSettings = Field(default_factory=ImagingSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'facesearch.db').resolve()}"

    @property
    def models_cache_dir(self) -> Path:
        """Where converted models are kept (``embedding.cache_dir`` or ``data_dir/models``)."""
        return self.embedding.cache_dir or self.data_dir / "models"

    @property
    def calibration_dir(self) -> Path:
        """Where ``facesearch calibrate`` writes tables of models that ship without one."""
        return self.data_dir / "calibration"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def audit_anchor_path(self) -> Path:
        """Where the newest audit event's seq and hash are kept, outside the database."""
        return self.data_dir / "audit-head.json"

    @property
    def probe_dir(self) -> Path:
        """Where probe images are kept when ``audit.store_probes`` is on."""
        return self.data_dir / "probes"
