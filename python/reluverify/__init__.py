"""Prove properties of piecewise-linear neural networks, or find the input
that breaks them.

The same verifier as the ``reluverify`` command-line tool, called in
process::

    import reluverify

    result = reluverify.check("models/abs.onnx", "specs/abs_nonneg.json")
    assert result.verdict == "holds"

    prop = reluverify.robustness(image, eps=0.03, label=8, lower=0.0, upper=1.0)
    result = reluverify.check(model, prop, timeout=60)
    if result.verdict == "violated":
        print(result.witness.input, result.witness.output)

A verdict is ``"holds"`` (proved), ``"violated"`` (with a witness that was
re-checked by a plain f64 forward pass of the loaded network) or
``"unknown"`` (time limit, with a reason). Errors are exceptions, one class
per kind (all subclasses of :class:`ReluverifyError`), with the message the
command-line tool prints. Long calls release the GIL, and Ctrl-C stops them
(the check is cancelled and ``KeyboardInterrupt`` raised).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import (
    DisagreementError,
    IoError,
    LimitError,
    Model,
    NetworkError,
    NnetError,
    OnnxError,
    Property,
    ReluverifyError,
    SolverError,
    SpecError,
    UnsupportedError,
    UsageError,
)

__all__ = [
    "Model",
    "Property",
    "Result",
    "Witness",
    "LayerBounds",
    "load_model",
    "load_property",
    "robustness",
    "check",
    "bounds",
    "ReluverifyError",
    "IoError",
    "OnnxError",
    "UnsupportedError",
    "NnetError",
    "SpecError",
    "NetworkError",
    "UsageError",
    "SolverError",
    "DisagreementError",
    "LimitError",
]

__version__ = _native.version()

PathLike = Union[str, "os.PathLike[str]"]
ModelLike = Union[Model, PathLike]
PropertyLike = Union[Property, PathLike, Mapping[str, Any]]
ArrayLike = Union[Sequence[float], np.ndarray]


@dataclass(frozen=True)
class Witness:
    """A counterexample: an input of the region whose output is unsafe,
    already validated by an f64 forward pass of the loaded network."""

    input: np.ndarray
    """The input, inside the region's box (and input constraints)."""
    output: np.ndarray
    """The network's output at ``input`` (after its output activation)."""
    region: int
    """The region whose box holds ``input``."""
    disjunct: int
    """The unsafe disjunct the output satisfies."""


@dataclass(frozen=True)
class Result:
    """The answer of :func:`check`."""

    verdict: str
    """``"holds"``, ``"violated"`` or ``"unknown"``."""
    witness: Optional[Witness]
    """The counterexample when ``verdict == "violated"``, else ``None``."""
    proved_by: Optional[str]
    """How ``holds`` was proved (``"bounds"``, ``"milp"``, ...), else ``None``."""
    reason: Optional[str]
    """Why the answer is ``unknown``, else ``None``."""
    seconds: float
    """Wall time of the check."""
    stats: Dict[str, Any] = field(default_factory=dict)
    """Search statistics: the ``stats`` object of ``reluverify check --json``."""
    warnings: List[str] = field(default_factory=list)
    """Warnings about the encoding (badly scaled weights, ...)."""

    def __bool__(self) -> bool:
        """``True`` only when the property holds (so ``assert result`` gates)."""
        return self.verdict == "holds"


@dataclass(frozen=True)
class LayerBounds:
    """Bounds on one layer's pre-activations over a region."""

    activation: str
    """The layer's activation (``relu``, ``leaky``, ``clip``, ``identity``)."""
    lower: np.ndarray
    upper: np.ndarray


def load_model(path: PathLike) -> Model:
    """Load a network: ``.onnx`` or ``.nnet``, either gzip-compressed.

    Raises :class:`OnnxError`, :class:`NnetError`, :class:`UnsupportedError`
    (an operator that is not piecewise linear), :class:`IoError`, ...
    """
    return _native.load_model(os.fspath(path))


def load_property(path_or_dict: Union[PathLike, Mapping[str, Any]]) -> Property:
    """Load a property from a ``.json`` / ``.vnnlib`` file, or build it from a
    dict in the JSON property format (``{"inputs": [...], "unsafe": ...}`` or
    ``{"linf_ball": {...}, "argmax": k}``). Raises :class:`SpecError`."""
    if isinstance(path_or_dict, Mapping):
        return _native.parse_property(json.dumps(path_or_dict, default=_plain))
    return _native.load_property(os.fspath(path_or_dict))


def robustness(
    center: ArrayLike,
    eps: float,
    label: int,
    lower: Optional[Union[float, ArrayLike]] = None,
    upper: Optional[Union[float, ArrayLike]] = None,
) -> Property:
    """The property that output ``label`` stays the largest on every input
    within ``eps`` of ``center`` (L-infinity), clipped to ``[lower, upper]``
    (a number, or one per input; ``None``: unclipped). ``center`` is read
    flat (row-major), so an image array works as it is. The unsafe set is
    ``y_j >= y_label`` for some ``j != label``, over the model's outputs."""
    flat = _flat(center)
    return _native.robustness(flat, float(eps), int(label), _bound(lower), _bound(upper))


def check(
    model: ModelLike,
    prop: PropertyLike,
    timeout: Optional[float] = None,
    threads: Optional[int] = None,
) -> Result:
    """Check ``prop`` on ``model`` (each loaded or a path; a property may also
    be a dict). ``timeout`` in seconds (``None``: no limit); ``threads`` for
    the search (default 1). Raises :class:`SpecError` when the property does
    not fit the model."""
    m = model if isinstance(model, Model) else load_model(model)
    p = prop if isinstance(prop, Property) else load_property(prop)
    out = json.loads(_native.check(m, p, timeout, threads))
    w = out.get("witness")
    witness = None
    if w is not None:
        witness = Witness(
            input=np.asarray(w["input"], dtype=np.float64),
            output=np.asarray(w["output"], dtype=np.float64),
            region=int(w["region"]),
            disjunct=int(w["disjunct"]),
        )
    return Result(
        verdict=out["verdict"],
        witness=witness,
        proved_by=out.get("proved_by"),
        reason=out.get("reason"),
        seconds=float(out["seconds"]),
        stats=out.get("stats", {}),
        warnings=list(out.get("warnings", [])),
    )


def bounds(model: ModelLike, prop: PropertyLike, method: str = "symbolic", region: int = 0) -> List[LayerBounds]:
    """Bounds on every layer's pre-activations over region ``region`` of
    ``prop``: ``method`` is ``"interval"``, ``"symbolic"``, ``"optimised"``
    or ``"lp"``. The last entry bounds the network's outputs (before any
    output activation)."""
    m = model if isinstance(model, Model) else load_model(model)
    p = prop if isinstance(prop, Property) else load_property(prop)
    return [
        LayerBounds(activation=a, lower=np.asarray(lo, dtype=np.float64), upper=np.asarray(hi, dtype=np.float64))
        for a, lo, hi in _native.bounds(m, p, method, region)
    ]


def _flat(x: ArrayLike) -> List[float]:
    return np.asarray(x, dtype=np.float64).ravel().tolist()


def _bound(b: Optional[Union[float, ArrayLike]]) -> Optional[List[float]]:
    if b is None:
        return None
    return _flat(np.atleast_1d(np.asarray(b, dtype=np.float64)))


def _plain(v: Any) -> Any:
    """JSON for NumPy values inside a property dict."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")
