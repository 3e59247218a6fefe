"""Build an ONNX graph that computes what dlib computes for a :class:`DlibNetwork`.

Input ``chips``: ``(n, 150, 150, 3)`` uint8 RGB (the pipeline's dlib chips, unchanged).
Output ``descriptor``: ``(n, 128)`` float32, dlib's raw descriptor (not normalised).

Each dlib layer maps to ONNX operators: the input layer to Cast/Sub/Mul/Transpose
(``(pixel - avg) / 256`` per RGB plane, ``dlib/dnn/input.h``), ``con_`` to Conv with dlib's
explicit padding, ``affine_`` folded into the preceding Conv's weights and bias (per-channel
scale and shift; the same arithmetic up to float rounding), ``relu_`` to Relu, pooling to
MaxPool/AveragePool/GlobalAveragePool, ``add_prev_`` to Add where the smaller operand is
first zero-padded at the end of each dimension (dlib's ``tt::add`` on tensors of different
sizes), ``skip_`` to a re-use of the tagged tensor, and ``fc_no_bias`` to Flatten + MatMul.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from facesearch.embedding.dlib_onnx.reader import (
    AddPrev,
    Affine,
    Conv,
    DlibNetwork,
    FullyConnected,
    Pool,
    Relu,
    Skip,
    Tag,
)

OPSET = 17
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptor"

Shape = tuple[int, int, int]  # channels, rows, columns


def _out_size(size: int, window: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - window) // stride


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attrs: Any) -> str:
        out = self.name(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def build_onnx(net: DlibNetwork, *, producer_version: str) -> onnx.ModelProto:
    """The ONNX model (opset 17) of ``net``; raises ValueError on a layer order it cannot map."""
    b = _Builder()
    avg = np.asarray(net.input.avg_rgb, dtype=np.float32).reshape(1, 1, 1, 3)
    x = b.node("Cast", [INPUT_NAME], "cast", to=TensorProto.FLOAT)
    x = b.node("Sub", [x, b.const("avg_rgb", avg)], "center")
    x = b.node("Mul", [x, b.const("scale", np.asarray(1.0 / 256.0, dtype=np.float32))], "scale")
    x = b.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    shape: Shape = (3, net.input.nr, net.input.nc)
    tags: dict[int, tuple[str, Shape]] = {}
    layers = list(net.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv):
            weights = layer.weights.astype(np.float64)
            bias = (
                layer.bias.astype(np.float64)
                if layer.bias is not None
                else np.zeros(weights.shape[0], dtype=np.float64)
            )
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(nxt, Affine) and not layer.relu:
                gamma = nxt.gamma.astype(np.float64)
                weights = weights * gamma[:, None, None, None]
                bias = bias * gamma + nxt.beta.astype(np.float64)
                i += 1
            py, px = layer.padding
            x = b.node(
                "Conv",
                [
                    x,
                    b.const("conv_w", weights.astype(np.float32)),
                    b.const("conv_b", bias.astype(np.float32)),
                ],
                "conv",
                kernel_shape=list(weights.shape[2:]),
                strides=list(layer.stride),
                pads=[py, px, py, px],
            )
            shape = (
                weights.shape[0],
                _out_size(shape[1], weights.shape[2], layer.stride[0], py),
                _out_size(shape[2], weights.shape[3], layer.stride[1], px),
            )
            if layer.relu:
                x = b.node("Relu", [x], "relu")
        elif isinstance(layer, Affine):
            k = layer.gamma.size
            x = b.node("Mul", [x, b.const("gamma", layer.gamma.reshape(1, k, 1, 1))], "affine")
            x = b.node("Add", [x, b.const("beta", layer.beta.reshape(1, k, 1, 1))], "affine")
        elif isinstance(layer, Relu):
            x = b.node("Relu", [x], "relu")
        elif isinstance(layer, Pool):
            if layer.window == (0, 0):
                if layer.kind != "avg":
                    raise ValueError("max pooling over the whole input is not mapped")
                x = b.node("GlobalAveragePool", [x], "gap")
                shape = (shape[0], 1, 1)
            else:
                op = "MaxPool" if layer.kind == "max" else "AveragePool"
                py, px = layer.padding
                extra: dict[str, Any] = {}
                if op == "AveragePool":
                    extra["count_include_pad"] = 0
                x = b.node(
                    op,
                    [x],
                    "pool",
                    kernel_shape=list(layer.window),
                    strides=list(layer.stride),
                    pads=[py, px, py, px],
                    **extra,
                )
                shape = (
                    shape[0],
                    _out_size(shape[1], layer.window[0], layer.stride[0], py),
                    _out_size(shape[2], layer.window[1], layer.stride[1], px),
                )
        elif isinstance(layer, Tag):
            tags[layer.tag] = (x, shape)
        elif isinstance(layer, Skip):
            x, shape = tags[layer.tag]
        elif isinstance(layer, AddPrev):
            other, other_shape = tags[layer.tag]
            target: Shape = (
                max(shape[0], other_shape[0]),
                max(shape[1], other_shape[1]),
                max(shape[2], other_shape[2]),
            )
            x = _pad_to(b, x, shape, target)
            other = _pad_to(b, other, other_shape, target)
            x = b.node("Add", [x, other], "add_prev")
            shape = target
        elif isinstance(layer, FullyConnected):
            x = b.node("Flatten", [x], "flatten", axis=1)
            x = b.node("MatMul", [x, b.const("fc_w", layer.weights)], "fc")
            if layer.bias is not None:
                x = b.node("Add", [x, b.const("fc_b", layer.bias)], "fc_bias")
            shape = (layer.weights.shape[1], 1, 1)
        else:  # pragma: no cover - the reader yields only the types above
            raise ValueError(f"unmapped layer {layer!r}")
        i += 1
    b.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        b.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.UINT8, ["n", net.input.nr, net.input.nc, 3]
            )
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n", shape[0]])],
        initializer=b.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="facesearch",
        producer_version=producer_version,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _pad_to(b: _Builder, x: str, shape: Shape, target: Shape) -> str:
    if shape == target:
        return x
    pads = [0, 0, 0, 0, 0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]]
    return b.node("Pad", [x, b.const("pads", np.asarray(pads, dtype=np.int64))], "zero_pad")
