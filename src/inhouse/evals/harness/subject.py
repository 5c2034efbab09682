"""The answer's side of a verdict: serves the answer's modules to the judge, as values.

Runs inside the sandbox as ``python -I subject.py WORKDIR``, from a read-only folder outside the
answer's working directory. It never decides anything: it imports the answer's modules, performs
the operations the judge asks for (get an attribute, call, iterate, compare...) and answers with
the result encoded as plain data (by exact type: an ``int`` subclass is not an int) or as a handle
to an object that stays here. Whatever the answer does to this process (patching builtins, writing
to the channel, exiting), the judge only ever receives values it checks itself.

Protocol: one JSON object per line. Request ``{"id", "op", ...}``; reply ``{"id", "v": value}`` or
``{"id", "raise": {"mro": [[module, qualname], ...], "message": str}}``. The channel is a copy of
the original stdout; the answer's own prints go to stderr.
"""

import base64
import collections
import datetime
import decimal
import fractions
import importlib
import json
import os
import sys

_type, _id, _len, _isinstance, _repr, _str = type, id, len, isinstance, repr, str
_dumps, _loads = json.dumps, json.loads
MAX_ITEMS = 1_000_000
MAX_DEPTH = 200


def _setup_channel():
    """Keep private copies of stdin/stdout for the judge; the answer gets /dev/null and stderr."""
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = sys.stderr
    return os.fdopen(fd_in, "rb", buffering=0), os.fdopen(fd_out, "wb", buffering=0)


def _setup_path(workdir):
    """The standard library first (an answer's ``json.py`` cannot shadow it), then the answer's
    folder, then installed packages."""
    stdlib = [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
    rest = [p for p in sys.path if p not in stdlib]
    sys.path[:] = stdlib + [workdir] + rest


class Encoder:
    def __init__(self):
        self.objects = {}
        self.ids = {}
        self.count = 0

    def handle(self, x):
        key = _id(x)
        hid = self.ids.get(key)
        if hid is None or self.objects.get(hid) is not x:
            hid = _len(self.objects) + 1
            self.objects[hid] = x
            self.ids[key] = hid
        t = _type(x)
        out = {"handle": hid, "type": _qual(t)}
        if _isinstance(x, type):
            out["kind"] = "class"
            out["mro"] = [_qual(c) for c in x.__mro__]
        elif _type(x).__name__ == "module":
            out["kind"] = "module"
        elif callable(x):
            out["kind"] = "callable"
        else:
            out["kind"] = "object"
        return out

    def encode(self, x, depth=0, seen=None):
        self.count += 1
        if self.count > MAX_ITEMS or depth > MAX_DEPTH:
            raise ValueError("the value is too large or too deeply nested to compare")
        t = _type(x)
        if x is None or t is bool or t is int or t is str:
            return x
        if t is float:
            return {"float": _repr(x)}
        seen = seen or set()
        if t in (list, tuple, set, frozenset, dict, collections.OrderedDict, collections.defaultdict,
                 collections.Counter, collections.deque):
            if _id(x) in seen:
                raise ValueError("the value contains itself")
            seen = seen | {_id(x)}
            if t in (dict, collections.OrderedDict, collections.defaultdict, collections.Counter):
                tag = {dict: "dict", collections.OrderedDict: "odict", collections.defaultdict: "dict",
                       collections.Counter: "counter"}[t]
                return {tag: [[self.encode(k, depth + 1, seen), self.encode(v, depth + 1, seen)]
                              for k, v in dict.items(x)]}
            items = list.__iter__(x) if t is list else iter(x)
            tag = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset", collections.deque: "deque"}[t]
            return {tag: [self.encode(i, depth + 1, seen) for i in items]}
        if t is bytes or t is bytearray:
            return {"bytes" if t is bytes else "bytearray": base64.b64encode(x).decode()}
        if t is complex:
            return {"complex": [_repr(x.real), _repr(x.imag)]}
        if t is decimal.Decimal:
            return {"decimal": _str(x)}
        if t is fractions.Fraction:
            return {"fraction": [x.numerator, x.denominator]}
        if t is datetime.datetime or t is datetime.date or t is datetime.time:
            if t is not datetime.date and x.tzinfo is not None:
                return self.handle(x)
            return {t.__name__: x.isoformat()}
        if t is datetime.timedelta:
            return {"timedelta": [x.days, x.seconds, x.microseconds]}
        if _isinstance(x, tuple) and _type(getattr(t, "_fields", None)) is tuple and t.__bases__ == (tuple,):
            fields = [f for f in t._fields if _type(f) is str]
            if _len(fields) == _len(x):
                return {"ntuple": [t.__name__, fields, [self.encode(i, depth + 1, seen) for i in tuple.__iter__(x)]]}
        return self.handle(x)

    def decode(self, v):
        if v is None or _type(v) in (bool, int, str):
            return v
        if _type(v) is not dict or _len(v) != 1:
            raise ValueError("malformed value from the judge")
        (tag, body), = v.items()
        if tag == "ref":
            return self.objects[body]
        if tag == "float":
            return float(body)
        if tag in ("list", "tuple", "set", "frozenset", "deque"):
            items = [self.decode(i) for i in body]
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
                    "deque": collections.deque}[tag](items)
        if tag in ("dict", "odict", "counter"):
            pairs = [(self.decode(k), self.decode(w)) for k, w in body]
            return {"dict": dict, "odict": collections.OrderedDict, "counter": collections.Counter}[tag](pairs)
        if tag in ("bytes", "bytearray"):
            raw = base64.b64decode(body)
            return raw if tag == "bytes" else bytearray(raw)
        if tag == "complex":
            return complex(float(body[0]), float(body[1]))
        if tag == "decimal":
            return decimal.Decimal(body)
        if tag == "fraction":
            return fractions.Fraction(body[0], body[1])
        if tag in ("datetime", "date", "time"):
            return getattr(datetime, tag).fromisoformat(body)
        if tag == "timedelta":
            return datetime.timedelta(days=body[0], seconds=body[1], microseconds=body[2])
        if tag == "ntuple":
            return collections.namedtuple(body[0], body[1])(*[self.decode(i) for i in body[2]])
        raise ValueError(f"unknown value tag {tag!r}")


def _qual(cls):
    try:
        return [_str(cls.__module__), _str(cls.__qualname__)]
    except Exception:  # noqa: BLE001 - a class that lies about its names
        return ["?", "?"]


MUTABLE = (list, dict, set, bytearray, collections.deque, collections.OrderedDict, collections.Counter,
           collections.defaultdict)


def serve(workdir):
    chan_in, chan_out = _setup_channel()
    _setup_path(workdir)
    enc = Encoder()
    ops = {
        "import": lambda r: importlib.import_module(r["module"]),
        "getattr": lambda r: getattr(obj(r), r["name"]),
        "setattr": lambda r: setattr(obj(r), r["name"], enc.decode(r["value"])),
        "delattr": lambda r: delattr(obj(r), r["name"]),
        "len": lambda r: _len(obj(r)),
        "bool": lambda r: bool(obj(r)),
        "str": lambda r: _str(obj(r)),
        "repr": lambda r: _repr(obj(r)),
        "iter": lambda r: iter(obj(r)),
        "next": lambda r: next(obj(r)),
        "getitem": lambda r: obj(r)[enc.decode(r["key"])],
        "setitem": lambda r: obj(r).__setitem__(enc.decode(r["key"]), enc.decode(r["value"])),
        "delitem": lambda r: obj(r).__delitem__(enc.decode(r["key"])),
        "contains": lambda r: enc.decode(r["item"]) in obj(r),
        "compare": lambda r: bool(_COMPARE[r["how"]](obj(r), enc.decode(r["other"]))),
        "isinstance": lambda r: _isinstance(enc.decode(r["value"]), obj(r)),
        "issubclass": lambda r: issubclass(enc.decode(r["value"]), obj(r)),
        "dir": lambda r: sorted(n for n in dir(obj(r)) if _type(n) is str),
    }

    def obj(r):
        return enc.objects[r["obj"]]

    while True:
        line = chan_in.readline()
        if not line:
            return
        req = _loads(line)
        rid = req.get("id")
        try:
            if req["op"] == "call":
                args = [enc.decode(a) for a in req.get("args", [])]
                kwargs = {k: enc.decode(w) for k, w in req.get("kwargs", {}).items()}
                result = obj(req)(*args, **kwargs)
                enc.count = 0
                reply = {"id": rid, "v": enc.encode(result),
                         "after": [enc.encode(a) if _type(a) in MUTABLE else None for a in args]}
            else:
                result = ops[req["op"]](req)
                enc.count = 0
                reply = {"id": rid, "v": enc.encode(result)}
                if req["op"] == "import":
                    reply["names"] = {n: enc.encode(getattr(result, n)) for n in _public(result)}
        except BaseException as exc:  # noqa: BLE001 - everything the answer raises goes back as data
            reply = {"id": rid, "raise": {"mro": [_qual(c) for c in _type(exc).__mro__], "message": _safe_str(exc)}}
        try:
            data = _dumps(reply)
        except BaseException as exc:  # noqa: BLE001
            data = _dumps({"id": rid, "raise": {"mro": [["builtins", "ValueError"]],
                                                "message": f"the value cannot be sent: {_safe_str(exc)}"}})
        chan_out.write(data.encode("utf-8", "surrogatepass") + b"\n")


def _public(module):
    names = getattr(module, "__all__", None)
    if not (_type(names) in (list, tuple) and all(_type(n) is str for n in names)):
        names = [n for n in vars(module) if _type(n) is str and not n.startswith("_")]
    return [n for n in names if hasattr(module, n)]


def _safe_str(exc):
    try:
        return _str(exc)[:2000]
    except BaseException:  # noqa: BLE001
        return "(the exception could not be shown)"


_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())
