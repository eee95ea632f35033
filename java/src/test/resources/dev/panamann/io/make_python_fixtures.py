"""Writes the safetensors fixtures that SafeTensorsPythonTest reads, with the reference
Python library (pip install safetensors numpy). Run from this folder:

    python make_python_fixtures.py

twolayer_from_python.safetensors   W1 [4, 3], b1 [3], W2 [3, 2], b2 [2] of a TwoLayerNet(4, 3, 2),
                                   value k of each tensor = ((k * 7 + offset) % 13 - 6) / 8
twolayer_from_python_check.safetensors
                                   X [5, 4] and the scores numpy computes for it,
                                   relu(X W1 + b1) W2 + b2 in float32
mixed_dtypes_from_python.safetensors
                                   an F64, an I64 and an F16 tensor next to an F32 one
"""
import numpy as np
from safetensors.numpy import save_file


def pattern(shape, offset):
    k = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((k * 7 + offset) % 13 - 6) / 8).astype(np.float32).reshape(shape)


params = {
    "W1": pattern((4, 3), 0),
    "b1": pattern((3,), 1),
    "W2": pattern((3, 2), 2),
    "b2": pattern((2,), 3),
}
save_file(params, "twolayer_from_python.safetensors", metadata={"format": "pt", "writer": "python safetensors"})

X = (np.arange(20, dtype=np.float32).reshape(5, 4) - 9.5) / 4
hidden = np.maximum(X @ params["W1"] + params["b1"], np.float32(0))
scores = (hidden @ params["W2"] + params["b2"]).astype(np.float32)
save_file({"X": X, "scores": scores}, "twolayer_from_python_check.safetensors")

save_file({
    "f32": np.array([1.5, -2.25], dtype=np.float32),
    "f64": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64),
    "i64": np.array([7], dtype=np.int64),
    "f16": np.zeros((2, 3), dtype=np.float16),
}, "mixed_dtypes_from_python.safetensors")
