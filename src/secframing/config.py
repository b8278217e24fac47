"""TOML configuration files read into frozen dataclasses, with type-checked ``key=value`` overrides.

Paths follow one rule: a path written in a config file is relative to that file (a file it ``extends``
resolves its own paths against its own folder); a path given on the command line (``--set key=value``)
is relative to the working directory. Fields declared :data:`FilePath` are resolved that way when the
config is read, so the resolved config only holds absolute paths; :data:`PathOrName` fields (a local
directory or a Hugging Face hub name) are resolved only where the path exists.

>>> from secframing.select.relevance import RelevanceConfig
>>> cfg = from_dict(RelevanceConfig, {"threshold": 2}, overrides=["max_repeats=5"])
>>> cfg.threshold, cfg.max_repeats
(2.0, 5)
>>> from_dict(RelevanceConfig, {"threshold": "high"})
Traceback (most recent call last):
...
secframing.config.ConfigError: <dict>: threshold must be float, got str 'high'
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PathSpec:
    """Marks a string config field as a file-system path (see the module docstring)."""

    only_if_exists: bool = False
    """Resolve only when the path exists (fields that also take a hub name)."""


FilePath = Annotated[str, PathSpec()]
"""A path: relative to the config file that states it, or to the working directory on the command line."""
PathOrName = Annotated[str, PathSpec(only_if_exists=True)]
"""A local path (resolved like :data:`FilePath` where it exists) or a name such as a hub model id."""


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message says where and what to fix."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _coerce(value, typing.get_args(tp)[0], where, source)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {where} must be a table, got {type(value).__name__}")
        return _build(tp, value, source, prefix=f"{where}.")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, source)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{source}: {where} is invalid")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{source}: {where} must be one of {list(allowed)}, got {value!r}")
        return value
    if origin in (tuple, list, Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {where} must be a list, got {type(value).__name__} {value!r}")
        args = typing.get_args(tp)
        item_tp = args[0] if args else Any
        return tuple(_coerce(v, item_tp, f"{where}[{i}]", source) for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{source}: {where} must be {_type_name(tp)}, got bool {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(
            f"{source}: {where} must be {_type_name(tp)}, got {type(value).__name__} {value!r}"
        )
    return value


def _build(cls: type[T], data: Mapping[str, Any], source: str, prefix: str = "") -> T:
    hints = typing.get_type_hints(cls, include_extras=True)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + u for u in unknown)}; "
            f"valid keys: {', '.join(prefix + n for n in sorted(names))}"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k, source) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {prefix.rstrip('.') or cls.__name__}: {exc}") from None


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. bootstrap.n=500)")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare strings need no quotes on the command line
    return key.strip().split("."), value


def from_dict(
    cls: type[T], data: Mapping[str, Any], overrides: Sequence[str] = (), source: str = "<dict>"
) -> T:
    """Build ``cls`` from a nested mapping, applying ``key.sub=value`` overrides, all type-checked.

    Path fields in ``data`` are taken as they are; path values of ``overrides`` (the command line) are
    resolved against the working directory."""
    merged: dict[str, Any] = _deepcopy(data)
    paths = path_fields(cls)
    for text in overrides:
        keys, value = _parse_override(text)
        spec = paths.get(tuple(keys))
        if spec is not None:
            value = _resolve_value(value, spec, Path.cwd())
        node = merged
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k} is not a table")
        node[keys[-1]] = value
    return _build(cls, merged, source)


def _deepcopy(data: Mapping[str, Any]) -> dict[str, Any]:
    def copy(v: Any) -> Any:
        if isinstance(v, Mapping):
            return _deepcopy(v)
        return [copy(x) for x in v] if isinstance(v, list) else v

    return {k: copy(v) for k, v in data.items()}


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = _deepcopy(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def read_toml(path: str | Path, paths: Mapping[tuple[str, ...], PathSpec] | None = None,
              _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML file; a top-level ``extends = "other.toml"`` (relative to the file) is read first and
    this file's keys override it, table by table, so an ablation arm states only what it changes.

    ``paths`` (from :func:`path_fields`): the keys holding paths, resolved against the folder of the
    file that states them."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a TOML config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    parent = data.pop("extends", None)
    if paths:
        data = resolve_paths(data, paths, path.absolute().parent)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends must be a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise ConfigError(f"{path}: extends {parent!r} forms a cycle")
    return _merge(read_toml(base_path, paths, (*_seen, path.resolve())), data)


def load_config(cls: type[T], path: str | Path, overrides: Sequence[str] = ()) -> T:
    """Read a TOML file (with ``extends``) into the frozen dataclass ``cls``; errors name the file and key.
    Paths in the file are relative to it; paths in ``overrides`` to the working directory."""
    return from_dict(cls, read_toml(path, path_fields(cls)), overrides, source=str(path))


def _path_spec(tp: Any) -> PathSpec | None:
    if typing.get_origin(tp) is Annotated:
        return next((m for m in typing.get_args(tp)[1:] if isinstance(m, PathSpec)), None)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next((s for s in map(_path_spec, typing.get_args(tp)) if s is not None), None)
    return None


def path_fields(cls: type, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], PathSpec]:
    """Key paths of every path field of a config dataclass, nested tables included; ``"[]"`` stands
    for each item of a list of tables (e.g. ``("eval", "[]", "path")``)."""
    out: dict[tuple[str, ...], PathSpec] = {}
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        spec = _path_spec(tp)
        if spec is not None:
            out[(*prefix, f.name)] = spec
        elif dataclasses.is_dataclass(tp):
            out.update(path_fields(tp, (*prefix, f.name)))
        elif typing.get_origin(tp) in (tuple, list):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            if args and dataclasses.is_dataclass(args[0]):
                out.update(path_fields(args[0], (*prefix, f.name, "[]")))
    return out


def _resolve_value(value: Any, spec: PathSpec, base: Path) -> Any:
    if not isinstance(value, str) or not value:
        return value  # wrong types are reported by the type check
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    resolved = os.path.normpath(base / p)
    if spec.only_if_exists and not os.path.exists(resolved):
        return value
    return resolved


def resolve_paths(data: Mapping[str, Any], paths: Mapping[tuple[str, ...], PathSpec], base: Path) -> dict[str, Any]:
    """A copy of ``data`` with the relative values at ``paths`` made absolute against ``base``.

    >>> resolve_paths({"model": "m", "eval": [{"path": "e.jsonl"}]},
    ...               {("model",): PathSpec(), ("eval", "[]", "path"): PathSpec()}, Path("/cfg"))
    {'model': '/cfg/m', 'eval': [{'path': '/cfg/e.jsonl'}]}
    """

    def walk(node: Any, keys: tuple[str, ...], spec: PathSpec) -> Any:
        if not keys:
            return _resolve_value(node, spec, base)
        head, rest = keys[0], keys[1:]
        if head == "[]":
            return [walk(item, rest, spec) for item in node] if isinstance(node, list) else node
        if isinstance(node, dict) and head in node:
            node[head] = walk(node[head], rest, spec)
        return node

    out = _deepcopy(data)
    for keys, spec in paths.items():
        out = walk(out, keys, spec)
    return out


def to_dict(obj: Any) -> dict[str, Any]:
    """The resolved config as plain data (for run manifests)."""
    return dataclasses.asdict(obj)


def as_saved(obj: Any) -> dict[str, Any]:
    """:func:`to_dict` as it reads back from a JSON file (tuples become lists): what a saved resolved
    config is compared with."""
    return json.loads(json.dumps(to_dict(obj)))


def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a dataclass (the string literal under each field), read from its
    source; fields without one are absent."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(inspect.cleandoc(nxt.value.value).split())
    return docs


def explain(cls: type, prefix: str = "") -> str:
    """Every key of a config dataclass with its type, default and help text, table by table: what
    ``--explain-config`` prints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    docs = field_docs(cls)
    lines: list[str] = []
    nested: list[tuple[str, type]] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            nested.append((f"{prefix}{f.name}", tp))
            continue
        item = typing.get_args(tp)[0] if typing.get_origin(tp) in (tuple, list) and typing.get_args(tp) else None
        if item is not None and dataclasses.is_dataclass(item):
            nested.append((f"{prefix}{f.name}[]", item))
            continue
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "(required)"
        kind = "path" if _path_spec(tp) else _type_name(typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated
                                                        else tp)
        lines.append(f"  {prefix}{f.name}: {kind} = {default}")
        if f.name in docs:
            lines.append(f"      {docs[f.name]}")
    out = ([f"[{prefix.rstrip('.')}]" if prefix else f"{cls.__name__}"] + ([f"  {' '.join((cls.__doc__ or '').split())}"]
                                                                           if cls.__doc__ and not prefix else [])
           + lines)
    for name, sub in nested:
        out += ["", explain(sub, f"{name}.")]
    return "\n".join(out)
