"""The judge's view of the answer: modules, functions and objects that live in the sandbox.

The judge runs a task's hidden tests in its own process, which never imports or executes the
answer's code. ``from solution import f`` there gives a proxy; ``f(3)`` sends the call to the
subject process in the sandbox (``harness/subject.py``) and gets back plain data: ints, strings,
lists, dicts... rebuilt here from their encoding by exact type, so the test's ``==`` compares values
the judge made, never an object the answer made (an always-equal ``__eq__`` cannot pass). Other
objects stay in the sandbox behind handles; comparing a handle with a plain value is False.
Exceptions come back as classes of the same names (builtin ones as themselves), so
``pytest.raises(ValueError)`` works, but nothing the answer raises can become pytest's skip or
xfail, or stop the run.
"""

from __future__ import annotations

import base64
import builtins
import collections
import datetime
import decimal
import fractions
import importlib.abc
import importlib.machinery
import json
import select
import sys
import types
from typing import Any

MAX_LINE = 64 << 20


class RemoteError(Exception):
    """Raised by the answer's code, of a kind that has no counterpart here."""


class SubjectGone(Exception):
    """The answer's process ended (it exited, crashed, was killed or timed out) during a call."""


class ProtocolViolation(Exception):
    """The answer's process sent something that is not a well-formed reply."""


class Channel:
    """Requests to the subject and its replies, one JSON line each, in order."""

    def __init__(self, session) -> None:
        self.session = session
        self.next_id = 0
        self.calls = 0
        self.gone: str | None = None

    def request(self, op: str, **fields: Any) -> dict:
        if self.gone:
            raise SubjectGone(self.gone)
        self.next_id += 1
        self.calls += 1
        rid = self.next_id
        try:
            self.session.stdin.write(json.dumps({"id": rid, "op": op, **fields}).encode() + b"\n")
            self.session.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._gone() from None
        line = self._readline()
        try:
            reply = json.loads(line)
        except ValueError:
            raise self._violation("a reply that is not JSON") from None
        if not isinstance(reply, dict) or reply.get("id") != rid or not ({"v", "raise"} & set(reply)):
            raise self._violation("a reply out of order or without a value")
        return reply

    def _readline(self) -> bytes:
        out = self.session.stdout
        fd = out.fileno()
        buf = bytearray()
        while True:
            left = self.session.remaining_s
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                if self.session.remaining_s <= 0:
                    self.session.kill(f"wall clock of {self.session.wall:.1f} s")
                    raise self._gone()
                continue
            chunk = out.read1(65536) if hasattr(out, "read1") else out.read(1)
            if not chunk:
                raise self._gone()
            buf += chunk
            if b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                if rest:
                    raise self._violation("more than one reply to one request")
                return line
            if len(buf) > MAX_LINE:
                raise self._violation("a reply larger than 64 MiB")

    def _gone(self) -> SubjectGone:
        res = self.session.close()
        if res.status == "timeout":
            why = f"the answer's code did not finish within the {res.reason.removeprefix('wall clock of ')} wall clock"
        elif res.status == "killed":
            why = f"the answer's process was killed ({res.reason})"
        else:
            why = f"the answer's process exited with status {res.exit_code} during a call (sys.exit or os._exit in it?)"
        tail = res.stderr.strip().splitlines()[-1:] if res.stderr.strip() else []
        self.gone = why + (f"; its last output: {tail[0][:200]}" if tail else "")
        self.status = res
        return SubjectGone(self.gone)

    def _violation(self, what: str) -> ProtocolViolation:
        self.session.kill("protocol violation")
        self.gone = f"the answer's process broke the judge's protocol: {what}"
        return ProtocolViolation(self.gone)


class Remote:
    """Decoding and encoding of values, and the proxies that stand for objects in the sandbox."""

    def __init__(self, channel: Channel) -> None:
        self.ch = channel
        self.classes: dict[tuple[str, str], type] = {}
        self.handles: dict[int, Any] = {}

    # -- values ---------------------------------------------------------------------------------

    def decode(self, v: Any) -> Any:
        if v is None or type(v) in (bool, int, str):
            return v
        if type(v) is not dict:
            raise self.ch._violation(f"a value of JSON type {type(v).__name__}")
        if "handle" in v:
            return self._proxy(v)
        if len(v) != 1:
            raise self.ch._violation("a malformed value")
        (tag, body), = v.items()
        try:
            return self._decode_tagged(tag, body)
        except ProtocolViolation:
            raise
        except Exception as exc:  # noqa: BLE001 - anything malformed is the answer process's fault
            raise self.ch._violation(f"a malformed {tag} value ({exc})") from None

    def _decode_tagged(self, tag: str, body: Any) -> Any:
        d = self.decode
        if tag == "float":
            return float(_str(body))
        if tag in ("list", "tuple", "set", "frozenset", "deque"):
            items = [d(i) for i in _list(body)]
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
                    "deque": collections.deque}[tag](items)
        if tag in ("dict", "odict", "counter"):
            pairs = [(d(k), d(w)) for k, w in _list(body)]
            return {"dict": dict, "odict": collections.OrderedDict, "counter": collections.Counter}[tag](pairs)
        if tag in ("bytes", "bytearray"):
            raw = base64.b64decode(_str(body), validate=True)
            return raw if tag == "bytes" else bytearray(raw)
        if tag == "complex":
            return complex(float(_str(body[0])), float(_str(body[1])))
        if tag == "decimal":
            return decimal.Decimal(_str(body))
        if tag == "fraction":
            return fractions.Fraction(_int(body[0]), _int(body[1]))
        if tag in ("datetime", "date", "time"):
            return getattr(datetime, tag).fromisoformat(_str(body))
        if tag == "timedelta":
            return datetime.timedelta(days=_int(body[0]), seconds=_int(body[1]), microseconds=_int(body[2]))
        if tag == "ntuple":
            name, fields, items = _str(body[0]), [_str(f) for f in _list(body[1])], _list(body[2])
            return collections.namedtuple(name, fields)(*[d(i) for i in items])
        raise ValueError(f"unknown tag {tag!r}")

    def encode(self, x: Any, depth: int = 0) -> Any:
        """A value of the test's, for the sandbox: plain data, or a handle it gave us."""
        if depth > 200:
            raise ValueError("value nested too deeply to send")
        t = type(x)
        if x is None or t in (bool, int, str):
            return x
        if isinstance(x, (RemoteObject, RemoteModule)):
            return {"ref": object.__getattribute__(x, "_hid")}
        if isinstance(x, RemoteClass):
            return {"ref": x._hid}
        e = lambda i: self.encode(i, depth + 1)  # noqa: E731
        if t is float:
            return {"float": repr(x)}
        if t in (list, tuple, set, frozenset, collections.deque):
            return {{list: "list", tuple: "tuple", set: "set", frozenset: "frozenset",
                     collections.deque: "deque"}[t]: [e(i) for i in x]}
        if t in (dict, collections.OrderedDict, collections.defaultdict, collections.Counter):
            tag = {collections.OrderedDict: "odict", collections.Counter: "counter"}.get(t, "dict")
            return {tag: [[e(k), e(v)] for k, v in x.items()]}
        if t in (bytes, bytearray):
            return {t.__name__: base64.b64encode(x).decode()}
        if t is complex:
            return {"complex": [repr(x.real), repr(x.imag)]}
        if t is decimal.Decimal:
            return {"decimal": str(x)}
        if t is fractions.Fraction:
            return {"fraction": [x.numerator, x.denominator]}
        if t in (datetime.datetime, datetime.date, datetime.time):
            return {t.__name__: x.isoformat()}
        if t is datetime.timedelta:
            return {"timedelta": [x.days, x.seconds, x.microseconds]}
        if isinstance(x, tuple) and hasattr(t, "_fields"):
            return {"ntuple": [t.__name__, list(t._fields), [e(i) for i in x]]}
        raise TypeError(f"cannot pass a {t.__name__} to the answer's code (only plain data and its own objects)")

    # -- proxies --------------------------------------------------------------------------------

    def _proxy(self, v: dict) -> Any:
        hid = _int(v["handle"])
        known = self.handles.get(hid)
        if known is not None:
            return known
        kind = v.get("kind")
        if kind == "class":
            mro = [tuple(_str(p) for p in _list(q)) for q in _list(v.get("mro", []))]
            if ("builtins", "BaseException") in mro:
                proxy: Any = self.exception_class(mro)
            else:
                name = _str(_list(v.get("mro"))[0][1]).rsplit(".", 1)[-1] if mro else "Remote"
                proxy = RemoteClass(name, (RemoteObject,), {"_hid": hid, "_remote": self})
        elif kind == "module":
            proxy = RemoteModule("remote", self, hid)
        else:
            proxy = RemoteObject(self, hid, tuple(_str(p) for p in _list(v.get("type", ["?", "?"]))))
        self.handles[hid] = proxy
        return proxy

    def exception_class(self, mro: list[tuple[str, str]]) -> type:
        """A class here for an exception class there: builtin exceptions as themselves, others
        created under the nearest builtin base. Nothing outside ``Exception`` is ever produced:
        an answer's SystemExit, KeyboardInterrupt or pytest outcome is just a RemoteError."""
        base: type = RemoteError
        chain: list[tuple[str, str]] = []
        for module, qual in mro:
            if module == "builtins":
                cls = getattr(builtins, qual, None)
                if isinstance(cls, type) and issubclass(cls, Exception):
                    base = cls
                    break
                if qual in ("BaseException", "object"):
                    break
            chain.append((module, qual))  # SystemExit, KeyboardInterrupt...: named, but a RemoteError here
        for module, qual in reversed(chain):
            key = (module, qual)
            if key not in self.classes:
                self.classes[key] = type(qual.rsplit(".", 1)[-1], (base,), {"__module__": module,
                                                                           "__qualname__": qual})
            base = self.classes[key]
        return base

    def ask(self, op: str, **fields: Any) -> Any:
        reply = self.ch.request(op, **fields)
        if "raise" in reply:
            info = reply["raise"]
            mro = [tuple(_str(p) for p in _list(q)) for q in _list(info.get("mro", []))]
            raise self.exception_class(mro)(_str(info.get("message", "")))
        return self.decode(reply["v"])

    def call(self, hid: int, args: tuple, kwargs: dict) -> Any:
        reply = self.ch.request("call", obj=hid, args=[self.encode(a) for a in args],
                                kwargs={k: self.encode(w) for k, w in kwargs.items()})
        if "raise" in reply:
            info = reply["raise"]
            mro = [tuple(_str(p) for p in _list(q)) for q in _list(info.get("mro", []))]
            raise self.exception_class(mro)(_str(info.get("message", "")))
        self._write_back(args, reply.get("after"))
        return self.decode(reply["v"])

    def _write_back(self, args: tuple, after: Any) -> None:
        """An argument the answer changed in place (a list it sorted) changes here too."""
        if not isinstance(after, list):
            return
        for local, new in zip(args, after):
            if new is None:
                continue
            value = self.decode(new)
            if type(local) is list and type(value) is list:
                local[:] = value
            elif type(local) in (dict, collections.OrderedDict, collections.Counter, collections.defaultdict) \
                    and isinstance(value, dict):
                local.clear()
                local.update(value)
            elif type(local) is set and type(value) is set:
                local.clear()
                local.update(value)
            elif type(local) is bytearray and type(value) is bytearray:
                local[:] = value
            elif type(local) is collections.deque and type(value) is collections.deque:
                local.clear()
                local.extend(value)


def _str(x: Any) -> str:
    if type(x) is not str:
        raise ValueError("expected a string")
    return x


def _int(x: Any) -> int:
    if type(x) is not int:
        raise ValueError("expected an integer")
    return x


def _list(x: Any) -> list:
    if type(x) is not list:
        raise ValueError("expected a list")
    return x


class RemoteObject:
    """An object that lives in the sandbox. Equal only to a handle the sandbox says it equals,
    never to plain data: ``==`` on an answer's object against an expected value is False."""

    __slots__ = ("_remote", "_hid", "_type")

    def __init__(self, remote: Remote, hid: int, type_: tuple[str, str] = ("?", "?")) -> None:
        object.__setattr__(self, "_remote", remote)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_type", type_)

    def _ask(self, op: str, **fields: Any) -> Any:
        return object.__getattribute__(self, "_remote").ask(op, obj=object.__getattribute__(self, "_hid"), **fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # Python's own protocol probes stay here
        return self._ask("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        r = object.__getattribute__(self, "_remote")
        self._ask("setattr", name=name, value=r.encode(value))

    def __delattr__(self, name: str) -> None:
        self._ask("delattr", name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return object.__getattribute__(self, "_remote").call(object.__getattribute__(self, "_hid"), args, kwargs)

    def __len__(self) -> int:
        n = self._ask("len")
        if type(n) is not int:
            raise TypeError("len() of the answer's object is not an int")
        return n

    def __bool__(self) -> bool:
        v = self._ask("bool")
        return v is True

    def __iter__(self) -> Any:
        return self._ask("iter")

    def __next__(self) -> Any:
        return self._ask("next")

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key=object.__getattribute__(self, "_remote").encode(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        r = object.__getattribute__(self, "_remote")
        self._ask("setitem", key=r.encode(key), value=r.encode(value))

    def __delitem__(self, key: Any) -> None:
        self._ask("delitem", key=object.__getattribute__(self, "_remote").encode(key))

    def __contains__(self, item: Any) -> bool:
        return self._ask("contains", item=object.__getattribute__(self, "_remote").encode(item)) is True

    def _compare(self, how: str, other: Any) -> Any:
        if not isinstance(other, (RemoteObject, RemoteModule, RemoteClass)):
            if how in ("eq", "ne"):
                return how == "ne"  # an answer's object is never equal to a plain value
            return NotImplemented
        return self._ask("compare", how=how, other=object.__getattribute__(self, "_remote").encode(other)) is True

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("eq", other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("ne", other)

    def __lt__(self, other: Any) -> Any:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Any:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Any:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Any:
        return self._compare("ge", other)

    def __hash__(self) -> int:
        return hash(("remote", object.__getattribute__(self, "_hid")))

    def __str__(self) -> str:
        s = self._ask("str")
        return s if type(s) is str else "<answer object>"

    def __repr__(self) -> str:
        try:
            s = self._ask("repr")
        except Exception:  # noqa: BLE001 - repr must not fail inside pytest's reporting
            s = None
        module, qual = object.__getattribute__(self, "_type")
        return s if type(s) is str else f"<{module}.{qual} in the sandbox>"


class RemoteClass(type):
    """A class that lives in the sandbox: calling it builds an instance there; isinstance asks there."""

    _hid: int
    _remote: Remote

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._remote.call(cls._hid, args, kwargs)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return cls._remote.ask("getattr", obj=cls._hid, name=name)

    def __instancecheck__(cls, instance: Any) -> bool:
        if not isinstance(instance, RemoteObject):
            return False
        return cls._remote.ask("isinstance", obj=cls._hid, value=cls._remote.encode(instance)) is True

    def __subclasscheck__(cls, sub: Any) -> bool:
        if not isinstance(sub, RemoteClass):
            return False
        return cls._remote.ask("issubclass", obj=cls._hid, value=cls._remote.encode(sub)) is True

    def __eq__(cls, other: Any) -> bool:
        return isinstance(other, RemoteClass) and other._hid == cls._hid

    def __hash__(cls) -> int:
        return hash(("remote-class", cls._hid))

    def __repr__(cls) -> str:
        return f"<class {cls.__name__} in the sandbox>"


class RemoteModule(types.ModuleType):
    """A module of the answer's: its public names are filled in when it is imported."""

    def __init__(self, name: str, remote: Remote, hid: int) -> None:
        super().__init__(name)
        object.__setattr__(self, "_remote", remote)
        object.__setattr__(self, "_hid", hid)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return object.__getattribute__(self, "_remote").ask("getattr", obj=object.__getattribute__(self, "_hid"),
                                                           name=name)


class AnswerFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of the answer's modules (by top-level name) come from the sandbox, as proxies."""

    def __init__(self, remote: Remote, top_level: set[str]) -> None:
        self.remote = remote
        self.top_level = top_level

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname.split(".")[0] not in self.top_level:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> Any:
        reply = self.remote.ch.request("import", module=spec.name)
        if "raise" in reply:
            info = reply["raise"]
            mro = [tuple(_str(p) for p in _list(q)) for q in _list(info.get("mro", []))]
            cls = self.remote.exception_class(mro)
            # the answer failed to import: make it an ImportError here, with its own message
            raise ImportError(f"the answer's {spec.name} failed to import (it raised {cls.__name__}: "
                              f"{_str(info.get('message', ''))})")
        handle = reply["v"]
        if type(handle) is not dict or "handle" not in handle:
            raise self.remote.ch._violation("an import that is not a module")
        module = RemoteModule(spec.name, self.remote, _int(handle["handle"]))
        self.remote.handles[_int(handle["handle"])] = module
        names = reply.get("names", {})
        if type(names) is not dict:
            raise self.remote.ch._violation("a module's names that are not a mapping")
        for name, value in names.items():
            setattr(module, _str(name), self.remote.decode(value))
        module.__path__ = []  # so ``import pkg.sub`` asks again
        return module

    def exec_module(self, module: Any) -> None:
        pass


def claimed_modules(files: dict[str, str], given: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The top-level modules whose imports the judge serves from the answer: those of the project
    that the task's given files make (``given``), and new ones the answer added unless the judge's
    own environment has a module of that name (an answer's ``hypothesis.py`` must not stand in for
    a library the hidden tests use). The standard library is never served from the answer."""
    import importlib.util

    out = set()
    for name in top_level_modules(files):
        if name in given or (name not in sys.modules and importlib.util.find_spec(name) is None):
            out.add(name)
    return out - set(sys.stdlib_module_names)


def top_level_modules(files: dict[str, str]) -> set[str]:
    """The importable top-level names a project's files make (``pkg/x.py`` -> ``pkg``)."""
    out = set()
    for path in files:
        parts = path.split("/")
        if parts[0] in ("tests", "hidden_tests"):
            continue
        head = parts[0].removesuffix(".py") if len(parts) == 1 else parts[0]
        if (len(parts) > 1 or path.endswith(".py")) and head.isidentifier():
            out.add(head)
    return out - set(sys.stdlib_module_names)
