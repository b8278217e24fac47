"""TOML configuration files read into frozen dataclasses, with type-checked ``key=value`` overrides.

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
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message says where and what to fix."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str, source: str) -> Any:
    origin = typing.get_origin(tp)
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
    hints = typing.get_type_hints(cls)
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
    """Build ``cls`` from a nested mapping, applying ``key.sub=value`` overrides, all type-checked."""
    merged: dict[str, Any] = _deepcopy(data)
    for text in overrides:
        keys, value = _parse_override(text)
        node = merged
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k} is not a table")
        node[keys[-1]] = value
    return _build(cls, merged, source)


def _deepcopy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = _deepcopy(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def read_toml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML file; a top-level ``extends = "other.toml"`` (relative to the file) is read first and
    this file's keys override it, table by table, so an ablation arm states only what it changes."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends must be a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise ConfigError(f"{path}: extends {parent!r} forms a cycle")
    return _merge(read_toml(base_path, (*_seen, path.resolve())), data)


def load_config(cls: type[T], path: str | Path, overrides: Sequence[str] = ()) -> T:
    """Read a TOML file (with ``extends``) into the frozen dataclass ``cls``; errors name the file and key."""
    return from_dict(cls, read_toml(path), overrides, source=str(path))


def to_dict(obj: Any) -> dict[str, Any]:
    """The resolved config as plain data (for run manifests)."""
    return dataclasses.asdict(obj)
