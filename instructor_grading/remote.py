"""The grader's side of the data channel: ask the student's kernel for data, never for a verdict.

A check calls ``notebook.call("gradient_ascent", X, sigma, mu0, 1e-4, 25)`` or
``notebook.get("path")``. The request runs :mod:`.kernel_protocol` in the
kernel (sent as source text, silently, outside the kernel's history) and the
answer comes back as one JSON string in the execute reply. It is decoded
here into numbers, strings, lists, dicts and torch tensors (with the dtype the
kernel had); nothing the kernel sends is ever executed or unpickled.
"""
from __future__ import annotations

import ast
import base64
import json
import textwrap
from pathlib import Path

import numpy as np
import torch

__all__ = ["CheckFailed", "Notebook", "Optimizer", "Params", "RequiresGrad", "Axes", "Opaque"]

PROTOCOL_SOURCE = (Path(__file__).with_name("kernel_protocol.py")).read_text()
_REQUEST = ("def __grader_request():\n{protocol}\n    return respond({request!r}, globals())\n"
            "__grader_reply = __grader_request()\ndel __grader_request\n")


class CheckFailed(Exception):
    """A check's verdict: the answer is wrong, with a message for the student."""


class Optimizer(dict):
    """An optimizer factory to hand to the student's code: ``Optimizer("Adam", lr=0.1)``."""

    def __init__(self, name: str, **options):
        super().__init__(__kind__="optimizer", name=name, options=options)


class Params(list):
    """Marks tensors that the kernel must create with ``requires_grad=True`` (a list of them)."""


class RequiresGrad:
    """One tensor that the kernel must create with ``requires_grad=True`` (for ``backward=True`` calls)."""

    def __init__(self, tensor):
        self.tensor = torch.as_tensor(tensor)


class Axes(dict):
    """A matplotlib Axes as data: ``lines`` (each an (k, 2) tensor), ``images`` (shapes), ``title`` ..."""


class Opaque(dict):
    """A value the kernel could only describe (``type`` or ``name``), such as a function or an object."""


def _encode(value, requires_grad=False):
    if isinstance(value, Optimizer):
        return dict(value)
    if isinstance(value, Params):
        return [_encode(item, requires_grad=True) for item in value]
    if isinstance(value, RequiresGrad):
        return _encode(value.tensor, requires_grad=True)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        array = torch.as_tensor(value).detach().cpu().numpy()
        return {"__kind__": "tensor", "b64": base64.b64encode(array.tobytes()).decode(), "dtype": str(array.dtype),
                "shape": list(array.shape), "requires_grad": requires_grad}
    if isinstance(value, tuple):
        return {"__kind__": "tuple", "items": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


_DTYPES = {name: getattr(torch, name) for name in ("float16", "bfloat16", "float32", "float64", "int8", "int16",
                                                  "int32", "int64", "uint8", "bool")}


def decode(value):
    """The kernel's JSON answer as grader-side data (tensors keep the kernel's dtype)."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__kind__")
    if kind == "array":  # float64 bytes; the kernel's dtype is restored only from a list of plain numeric ones
        if value.get("b64") is None:
            raise CheckFailed(f"an array of shape {value['shape']} is too large to check")
        data = np.frombuffer(base64.b64decode(value["b64"]), dtype=np.float64).reshape(value["shape"])
        dtype = _DTYPES.get(str(value["dtype"]), torch.float64)
        return torch.from_numpy(data.copy()).to(dtype)
    if kind == "tuple":
        return tuple(decode(item) for item in value["items"])
    if kind == "list":
        return [decode(item) for item in value["items"]]
    if kind == "dict":
        result = {}
        for key, item in value["items"]:
            key = decode(key)
            result[key if isinstance(key, (str, int, float, bool, type(None))) else repr(key)] = decode(item)
        return result
    if kind == "axes":
        return Axes(lines=[decode(line) for line in value["lines"]], images=value["images"],
                    collections=value["collections"], title=value["title"], xlabel=value["xlabel"],
                    ylabel=value["ylabel"])
    if kind == "optimizer":
        return Opaque(kind="optimizer", name=value["name"], module=value["module"],
                      options={key: decode(item) for key, item in value["options"].items()})
    return Opaque({key: item for key, item in value.items() if key != "__kind__"}, kind=kind)


class Notebook:
    """The student's notebook as a source of data, for the checks of one test cell.

    ``ask(code, timeout)`` runs code silently in the kernel and returns the
    execute reply's content (the executor provides it).
    """

    def __init__(self, ask, timeout: float):
        self._ask, self.timeout = ask, timeout

    def _request(self, request: dict):
        code = _REQUEST.format(protocol=textwrap.indent(PROTOCOL_SOURCE, "    "), request=json.dumps(request))
        content = self._ask(code, self.timeout, {"reply": "__grader_reply"})
        if content is None:
            raise CheckFailed("the notebook's kernel did not answer the grader (it died, or ran out of time)")
        reply = content.get("user_expressions", {}).get("reply", {})
        text = reply.get("data", {}).get("text/plain") if reply.get("status") == "ok" else None
        try:
            answer = json.loads(ast.literal_eval(text))  # the repr of one str: a literal, nothing to run
            assert isinstance(answer, dict)
        except Exception:
            raise CheckFailed("the notebook's kernel sent the grader no readable answer (was IPython or json "
                              "changed by the notebook?)") from None
        if "missing" in answer:
            raise CheckFailed(f"`{answer['missing']}` is not defined when this test runs: run the cell that "
                              "defines it, keep its name, and do not delete it")
        if "error" in answer:
            stub = " (the answer cell still has its stub)" if answer["error"].startswith("NotImplementedError") else ""
            raise CheckFailed(f"{request['name']}{_call_text(request)} raised {answer['error']}{stub}")
        return answer

    def get(self, name: str, *path):
        """The value of the notebook's variable ``name`` (``path``: keys or indices into it)."""
        return decode(self._request({"op": "get", "name": name, "path": [_encode(p) for p in path]})["value"])

    def call(self, name: str, *args, kernel_seed=None, backward=False, return_args=False, path=(), **kwargs):
        """Call the notebook's function ``name`` with grader-made arguments; return what it returned.

        ``kernel_seed`` seeds torch and NumPy's global generators in the kernel first; ``backward`` also
        returns the gradients of ``result.sum()`` with respect to tensor
        arguments; ``return_args`` also returns the arguments after the call.
        With either, the answer is a dict ``{"value", "grads"/"args"}``.
        """
        answer = self._request({"op": "call", "name": name, "path": [_encode(p) for p in path],
                                "args": [_encode(a) for a in args],
                                "kwargs": {k: _encode(v) for k, v in kwargs.items()},
                                "seed": kernel_seed, "backward": backward, "return_args": return_args})
        if not (backward or return_args):
            return decode(answer["value"])
        return {key: decode(item) for key, item in answer.items()}


def _call_text(request: dict) -> str:
    """``(tensor of shape (3, 2), 0.1, (0, 1, 1), num_steps=5)``: a call's arguments as a student reads them."""
    if request["op"] != "call":
        return ""

    def show(value) -> str:
        if isinstance(value, dict) and value.get("__kind__") == "tensor":
            return f"tensor of shape {tuple(value['shape'])}"
        if isinstance(value, dict) and value.get("__kind__") == "tuple":
            return "(" + ", ".join(show(item) for item in value["items"]) + ("," if len(value["items"]) == 1 else "") + ")"
        if isinstance(value, dict) and value.get("__kind__") == "optimizer":
            options = ", ".join(f"{k}={v!r}" for k, v in value["options"].items())
            return f"lambda params: torch.optim.{value['name']}(params, {options})"
        if isinstance(value, list):
            return "[" + ", ".join(show(item) for item in value) + "]"
        return repr(value)[:60]

    return "(" + ", ".join([show(a) for a in request["args"]] + [f"{k}={show(v)}" for k, v in request["kwargs"].items()]) + ")"
