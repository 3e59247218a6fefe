"""dlib's face-recognition ResNet converted to ONNX by the project's own reader.

:mod:`.reader` parses dlib's ``.dat`` serialization, :mod:`.graph` builds the ONNX graph,
:mod:`.cache` writes the converted file once and verifies it on every load.
"""
