"""A pure-Python reader of dlib's serialization of its face-recognition ResNet.

It reads ``dlib_face_recognition_resnet_model_v1.dat`` (dlib's ``anet_type`` from
``examples/dnn_face_recognition_ex.cpp``) into typed layer records, innermost first.

Format, as dlib's own sources write it (``dlib/serialize.h``, ``dlib/dnn/core.h``,
``dlib/dnn/layers.h``, ``dlib/dnn/input.h``, ``dlib/dnn/tensor.h``):

* integers: one control byte (low 4 bits: number of bytes that follow, 0x80: negative),
  then the magnitude, little-endian;
* floating point: an integer mantissa (int64) and an integer exponent (int16),
  value = mantissa * 2**exponent (exponents 32000/32001/32002: +inf/-inf/NaN);
* strings: an unsigned length, then the bytes; booleans: the byte ``'1'`` or ``'0'``;
* tensors: version 2, then num_samples, k, nr, nc and that many 4-byte little-endian floats;
  alias tensors: version 1 and the four dimensions;
* a network is serialized outside-in: each ``add_layer``/tag/skip writes its version, then
  its subnetwork, then (``add_layer`` only) its layer details and training state. The loss
  layer writes its version, its details, then the subnetwork. The deserialization is driven
  by the network's type, so the reader carries dlib's ``anet_type`` (:data:`ANET_LAYOUT`).

Batch normalisation layers (``bn_con2``) are converted to ``affine_`` exactly as dlib's
``affine_(const bn_&)`` does: ``gamma' = gamma / sqrt(running_variance + eps)`` and
``beta' = beta - gamma' * running_mean``; the ``anet_type`` used for inference declares
``affine`` layers, so that is what dlib computes whatever the file stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import ModelLoadError

F32 = NDArray[np.float32]

_INF_EXPONENTS = {32000: float("inf"), 32001: float("-inf"), 32002: float("nan")}


class DlibFormatError(ModelLoadError):
    """The file is not the dlib network this reader expects (offset and reason in the message)."""


class _Stream:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.pos = 0

    def _fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(f"dlib model: {what} at byte {self.pos}")

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self._data):
            raise self._fail("unexpected end of file")
        chunk = self._data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def read_int(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise self._fail(f"bad integer control byte {control:#x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        if self._data[self.pos] & 0x70:
            raise self._fail("old ASCII floating point format is not supported")
        mantissa = self.read_int()
        exponent = self.read_int()
        if exponent in _INF_EXPONENTS:
            return _INF_EXPONENTS[exponent]
        return float(np.ldexp(float(mantissa), exponent))

    def read_string(self) -> str:
        length = self.read_int()
        return bytes(self.take(length)).decode("latin-1")

    def read_bool(self) -> bool:
        byte = self.take(1)[0]
        if byte not in (ord("0"), ord("1")):
            raise self._fail(f"bad boolean byte {byte:#x}")
        return byte == ord("1")

    def read_tensor(self) -> F32:
        version = self.read_int()
        if version != 2:
            raise self._fail(f"tensor version {version}, expected 2")
        shape = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(shape))
        raw = self.take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def read_alias(self) -> tuple[int, int, int, int]:
        version = self.read_int()
        if version != 1:
            raise self._fail(f"alias_tensor version {version}, expected 1")
        n, k, nr, nc = (self.read_int() for _ in range(4))
        return (n, k, nr, nc)

    def expect_version(self, allowed: tuple[int, ...], what: str) -> int:
        version = self.read_int()
        if version not in allowed:
            raise self._fail(f"{what} version {version}, expected one of {allowed}")
        return version


# ---- typed layer records ---------------------------------------------------------------


@dataclass(frozen=True)
class InputRGB:
    """``input_rgb_image_sized<nr, nc>``: value = (pixel - avg) / 256, RGB planes."""

    avg_rgb: tuple[float, float, float]
    nr: int
    nc: int


@dataclass(frozen=True)
class Conv:
    """``con_``: cross-correlation, ``weights`` (filters, k, nr, nc), ``bias`` (filters,)."""

    weights: F32
    bias: F32 | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    relu: bool


@dataclass(frozen=True)
class Affine:
    """``affine_`` in conv mode: y = x * gamma[c] + beta[c]."""

    gamma: F32
    beta: F32


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    """``max_pool_``/``avg_pool_``; window 0 means the whole input (``avg_pool_everything``)."""

    kind: Literal["max", "avg"]
    window: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class AddPrev:
    """``add_prev<tag>``: output + tagged output, the smaller zero-padded (dlib ``tt::add``)."""

    tag: int


@dataclass(frozen=True)
class Tag:
    tag: int


@dataclass(frozen=True)
class Skip:
    """``skip<tag>``: the output of the tagged layer replaces the current one."""

    tag: int


@dataclass(frozen=True)
class FullyConnected:
    """``fc_``: y = flatten(x) @ weights (+ bias); ``weights`` (num_inputs, num_outputs)."""

    weights: F32
    bias: F32 | None


Layer = Conv | Affine | Relu | Pool | AddPrev | Tag | Skip | FullyConnected


@dataclass(frozen=True)
class DlibNetwork:
    """The network read from the file: its input layer and its layers, innermost first."""

    input: InputRGB
    layers: tuple[Layer, ...]
    loss: str


# ---- dlib's anet_type, outermost first -------------------------------------------------
# ("L", kind, args) is an add_layer with that layer type; ("T", id) a tag; ("S", id) a skip.

_Spec = tuple[object, ...]


def _block(n: int, stride: int) -> list[_Spec]:
    # block<N,BN,stride> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
    return [
        ("L", "affine", ()),
        ("L", "con", (n, 3, 3, 1, 1)),
        ("L", "relu", ()),
        ("L", "affine", ()),
        ("L", "con", (n, 3, 3, stride, stride)),
    ]


def _ares(n: int) -> list[_Spec]:
    # ares<N> = relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
    return [("L", "relu", ()), ("L", "add_prev", (1,)), *_block(n, 1), ("T", 1)]


def _ares_down(n: int) -> list[_Spec]:
    # ares_down<N> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return [
        ("L", "relu", ()),
        ("L", "add_prev", (2,)),
        ("L", "avg_pool", (2, 2, 2, 2)),
        ("S", 1),
        ("T", 2),
        *_block(n, 2),
        ("T", 1),
    ]


ANET_LAYOUT: tuple[_Spec, ...] = (
    ("L", "fc_no_bias", (128,)),
    ("L", "avg_pool", (0, 0, 1, 1)),  # avg_pool_everything
    *_ares_down(256),  # alevel0
    *_ares(256),
    *_ares(256),
    *_ares_down(256),  # alevel1
    *_ares(128),
    *_ares(128),
    *_ares_down(128),  # alevel2
    *_ares(64),
    *_ares(64),
    *_ares(64),
    *_ares_down(64),  # alevel3
    *_ares(32),
    *_ares(32),
    *_ares(32),  # alevel4
    ("L", "max_pool", (3, 3, 2, 2)),
    ("L", "relu", ()),
    ("L", "affine", ()),
    ("L", "con", (32, 7, 7, 2, 2)),
)
"""dlib's ``anet_type`` (``examples/dnn_face_recognition_ex.cpp``) on
``input_rgb_image_sized<150>``,
outermost first, under ``loss_metric``."""


def _read_input(s: _Stream) -> InputRGB:
    version = s.read_string()
    if version != "input_rgb_image_sized":
        raise s._fail(f"input layer {version!r}, expected 'input_rgb_image_sized'")
    avg = (s.read_float(), s.read_float(), s.read_float())
    nr, nc = s.read_int(), s.read_int()
    return InputRGB(avg_rgb=avg, nr=nr, nc=nc)


def _read_conv(s: _Stream, args: tuple[int, ...]) -> Conv:
    version = s.read_string()
    if version not in ("con_4", "con_5", "con_6"):
        raise s._fail(f"layer {version!r}, expected con_4/5/6")
    params = s.read_tensor().reshape(-1)
    num_filters, nr, nc = s.read_int(), s.read_int(), s.read_int()
    stride = (s.read_int(), s.read_int())
    padding = (s.read_int(), s.read_int())
    filters = s.read_alias()
    biases = s.read_alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        s.read_float()
    use_bias = s.read_bool() if version in ("con_5", "con_6") else True
    use_relu = s.read_bool() if version == "con_6" else False
    expected = args
    if (num_filters, nr, nc, *stride) != expected:
        raise s._fail(f"con{(num_filters, nr, nc, *stride)} where the network has con{expected}")
    if filters[0] != num_filters or filters[2:] != (nr, nc):
        raise s._fail(f"con filters alias {filters} does not match {num_filters}x{nr}x{nc}")
    n_weights = int(np.prod(filters))
    weights = params[:n_weights].reshape(filters)
    bias = None
    if use_bias:
        n_bias = int(np.prod(biases))
        if n_bias != num_filters or params.size != n_weights + n_bias:
            raise s._fail("con bias size does not match its filters")
        bias = params[n_weights:].copy()
    elif params.size != n_weights:
        raise s._fail("con parameter count does not match its filters")
    return Conv(weights=weights.copy(), bias=bias, stride=stride, padding=padding, relu=use_relu)


def _read_affine(s: _Stream) -> Affine:
    version = s.read_string()
    if version == "bn_con2":
        params = s.read_tensor().reshape(-1)
        gamma_shape = s.read_alias()
        s.read_alias()  # beta
        s.read_tensor()  # means (of the last training batch)
        s.read_tensor()  # invstds
        running_means = s.read_tensor().reshape(-1).astype(np.float64)
        running_variances = s.read_tensor().reshape(-1).astype(np.float64)
        s.read_int()  # num_updates
        s.read_int()  # running_stats_window_size
        for _ in range(4):
            s.read_float()
        eps = s.read_float()
        k = int(np.prod(gamma_shape))
        gamma = params[:k].astype(np.float64)
        beta = params[k : 2 * k].astype(np.float64)
        # affine_(const bn_&): g = gamma / sqrt(var + eps); b = beta - g * mean
        g = gamma / np.sqrt(running_variances + eps)
        b = beta - g * running_means
        return Affine(gamma=g.astype(np.float32), beta=b.astype(np.float32))
    if version in ("affine_", "affine_2"):
        params = s.read_tensor().reshape(-1)
        gamma_shape = s.read_alias()
        s.read_alias()
        mode = s.read_int()
        disabled = s.read_bool() if version == "affine_2" else False
        if disabled:
            raise s._fail("disabled affine layer is not supported")
        if mode != 0:  # CONV_MODE = 0 in dlib's layer_mode
            raise s._fail(f"affine layer in mode {mode}, expected CONV_MODE")
        k = int(np.prod(gamma_shape))
        return Affine(gamma=params[:k].copy(), beta=params[k : 2 * k].copy())
    raise s._fail(f"layer {version!r}, expected affine_ or bn_con2")


def _read_pool(s: _Stream, kind: Literal["max", "avg"], args: tuple[int, ...]) -> Pool:
    version = s.read_string()
    if version != f"{kind}_pool_2":
        raise s._fail(f"layer {version!r}, expected {kind}_pool_2")
    nr, nc = s.read_int(), s.read_int()
    stride = (s.read_int(), s.read_int())
    padding = (s.read_int(), s.read_int())
    if (nr, nc, *stride) != args:
        raise s._fail(f"{kind}_pool{(nr, nc, *stride)} where the network has {args}")
    return Pool(kind=kind, window=(nr, nc), stride=stride, padding=padding)


def _read_fc(s: _Stream, args: tuple[int, ...]) -> FullyConnected:
    version = s.read_string()
    if version not in ("fc_2", "fc_3"):
        raise s._fail(f"layer {version!r}, expected fc_2/fc_3")
    num_outputs, num_inputs = s.read_int(), s.read_int()
    params = s.read_tensor().reshape(-1)
    s.read_alias()  # weights
    s.read_alias()  # biases
    bias_mode = s.read_int()  # FC_HAS_BIAS = 0, FC_NO_BIAS = 1
    for _ in range(4):
        s.read_float()
    use_bias = s.read_bool() if version == "fc_3" else True
    if num_outputs != args[0]:
        raise s._fail(f"fc with {num_outputs} outputs, expected {args[0]}")
    has_bias = bias_mode == 0 and use_bias
    rows = num_inputs + (1 if has_bias else 0)
    if params.size != rows * num_outputs:
        raise s._fail("fc parameter count does not match its shape")
    matrix = params.reshape(rows, num_outputs)
    bias = matrix[num_inputs].copy() if has_bias else None
    return FullyConnected(weights=matrix[:num_inputs].copy(), bias=bias)


def _read_simple(s: _Stream, name: str) -> None:
    version = s.read_string()
    if version != name:
        raise s._fail(f"layer {version!r}, expected {name!r}")


def _read_details(s: _Stream, kind: str, args: tuple[int, ...]) -> Layer:
    if kind == "con":
        return _read_conv(s, args)
    if kind == "affine":
        return _read_affine(s)
    if kind == "relu":
        _read_simple(s, "relu_")
        return Relu()
    if kind == "max_pool":
        return _read_pool(s, "max", args)
    if kind == "avg_pool":
        return _read_pool(s, "avg", args)
    if kind == "add_prev":
        _read_simple(s, "add_prev_")
        return AddPrev(tag=args[0])
    if kind == "fc_no_bias":
        return _read_fc(s, args)
    raise s._fail(f"unknown layer kind {kind}")  # pragma: no cover - layout is fixed


def read_dlib_resnet(data: bytes) -> DlibNetwork:
    """Parse the bytes of ``dlib_face_recognition_resnet_model_v1.dat``.

    Returns the network's input layer and its 29 convolutions, affine, pooling, residual and
    final 128-d ``fc_no_bias`` layers, innermost first. Raises :class:`DlibFormatError`
    (a :class:`ModelLoadError`) when the bytes are not that network.
    """
    s = _Stream(data)
    s.expect_version((1,), "add_loss_layer")
    loss = s.read_string()
    if loss == "loss_metric_2":
        s.read_float()  # margin
        s.read_float()  # dist_thresh
    elif loss != "loss_metric_":
        raise s._fail(f"loss layer {loss!r}, expected loss_metric_")
    # Versions, outermost first.
    add_layer_versions: list[int] = []
    n_layers = len(ANET_LAYOUT)
    for index, spec in enumerate(ANET_LAYOUT):
        if spec[0] == "L":
            innermost = index == n_layers - 1
            allowed = (2, 3) if innermost else (1, 2)
            add_layer_versions.append(s.expect_version(allowed, "add_layer"))
        else:
            s.expect_version((1,), "tag/skip layer")
    net_input = _read_input(s)
    # Details and training state, innermost first.
    layers: list[Layer] = []
    versions = iter(reversed(add_layer_versions))
    for index, spec in enumerate(reversed(ANET_LAYOUT)):
        if spec[0] == "T":
            layers.append(Tag(tag=int(spec[1])))  # type: ignore[call-overload]
            continue
        if spec[0] == "S":
            layers.append(Skip(tag=int(spec[1])))  # type: ignore[call-overload]
            continue
        kind = str(spec[1])
        args = tuple(int(a) for a in spec[2])  # type: ignore[attr-defined]
        layer = _read_details(s, kind, args)
        layers.append(layer)
        version = next(versions)
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, output disabled
            s.read_bool()
        s.read_tensor()  # x_grad
        s.read_tensor()  # cached_output
        if index == 0:  # add_layer on the input layer
            s.read_tensor()  # grad_final
            if version >= 3:
                s.read_int()  # _sample_expansion_factor
        elif version == 2:
            s.read_tensor()  # params_grad
    if s.pos != len(data):
        raise s._fail(f"{len(data) - s.pos} bytes left after the network")
    return DlibNetwork(input=net_input, layers=tuple(layers), loss=loss)
