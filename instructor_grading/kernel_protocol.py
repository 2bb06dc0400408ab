"""Runs inside the student's kernel: answers one data request of the grader, with data only.

The grader sends this file's source with every request (the sandboxed kernel
cannot import the grading package) and reads back one JSON string: numbers,
strings, lists and arrays, never a pickle or code. Nothing here judges
anything; a kernel that tampers with it changes only the data it returns,
which the grader then judges in its own process.
"""


def respond(request_json, namespace):
    """Answer ``request_json`` (see ``instructor_grading.remote``) using the notebook's ``namespace``.

    Arrays travel as base64 of their raw bytes (fast for 10,000 rows), with dtype and shape beside them.
    """
    import base64
    import json

    import numpy
    import torch

    def decode(value):
        if isinstance(value, list):
            return [decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        kind = value.get("__kind__")
        if kind == "tensor":
            array = numpy.frombuffer(base64.b64decode(value["b64"]), dtype=value["dtype"]).reshape(value["shape"])
            tensor = torch.from_numpy(array.copy())
            return tensor.requires_grad_(True) if value.get("requires_grad") else tensor
        if kind == "tuple":
            return tuple(decode(item) for item in value["items"])
        if kind == "optimizer":  # a factory like `lambda params: torch.optim.Adam(params, lr=0.1)`
            optimizer_class = getattr(torch.optim, value["name"])
            options = {key: decode(item) for key, item in value["options"].items()}
            return lambda params: optimizer_class(params, **options)
        return {key: decode(item) for key, item in value.items()}

    def encode(value, depth=0):
        if depth > 8:
            return {"__kind__": "other", "type": "too deeply nested"}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, (torch.Tensor, numpy.ndarray)) and (not isinstance(value, numpy.ndarray) or value.dtype != object):
            is_tensor = isinstance(value, torch.Tensor)
            dtype = str(value.dtype).replace("torch.", "")
            array = numpy.asarray(value.detach().cpu().to(torch.float64) if is_tensor else value, dtype=numpy.float64)
            return {"__kind__": "array", "dtype": dtype, "shape": list(array.shape),
                    "b64": base64.b64encode(array.tobytes()).decode() if array.size <= 2_000_000 else None,
                    "requires_grad": bool(is_tensor and value.requires_grad)}
        if isinstance(value, numpy.generic):
            return encode(value.item(), depth + 1)
        if isinstance(value, (list, tuple, numpy.ndarray)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {"__kind__": kind, "items": [encode(item, depth + 1) for item in list(value)[:10_000]]}
        if isinstance(value, dict):
            return {"__kind__": "dict", "items": [[encode(k, depth + 1), encode(v, depth + 1)]
                                                  for k, v in list(value.items())[:1000]]}
        if isinstance(value, torch.optim.Optimizer):
            group = value.param_groups[0] if value.param_groups else {}
            options = {k: encode(v, depth + 1) for k, v in group.items()
                       if k != "params" and (v is None or isinstance(v, (bool, int, float, tuple)))}
            return {"__kind__": "optimizer", "name": type(value).__name__, "module": type(value).__module__,
                    "options": options}
        if hasattr(value, "get_lines") and hasattr(value, "get_images"):  # a matplotlib Axes
            return {"__kind__": "axes", "lines": [encode(line.get_xydata(), depth + 1) for line in value.get_lines()],
                    "images": [list(numpy.shape(image.get_array())) for image in value.get_images()],
                    "collections": len(value.collections), "title": value.get_title(),
                    "xlabel": value.get_xlabel(), "ylabel": value.get_ylabel()}
        if callable(value):
            return {"__kind__": "function", "name": str(getattr(value, "__name__", type(value).__name__))}
        return {"__kind__": "other", "type": type(value).__name__}

    try:
        request = json.loads(request_json)
        name = request["name"]
        if name not in namespace:
            return json.dumps({"missing": name})
        target = namespace[name]
        for key in request.get("path", []):  # e.g. optimizers["Adam"]
            target = target[decode(key)]
        if request["op"] == "get":
            return json.dumps({"value": encode(target)})
        args = [decode(arg) for arg in request.get("args", [])]
        kwargs = {key: decode(arg) for key, arg in request.get("kwargs", {}).items()}
        if request.get("seed") is not None:
            torch.manual_seed(request["seed"])
            numpy.random.seed(request["seed"] % 2**32)
        result = target(*args, **kwargs)
        answer = {"value": encode(result)}
        if request.get("backward"):  # the gradient of result.sum() with respect to each tensor argument
            torch.as_tensor(result).sum().backward()
            answer["grads"] = [encode(arg.grad) if isinstance(arg, torch.Tensor) else None for arg in args]
        if request.get("return_args"):  # the arguments after the call: was an input changed in place?
            answer["args"] = [encode(arg) for arg in args]
        return json.dumps(answer)
    except BaseException as error:  # the student's code raised: report it as data
        return json.dumps({"error": f"{type(error).__name__}: {error}"[:1000]})
