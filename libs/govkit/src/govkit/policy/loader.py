"""Loading policy packs from YAML with errors that name the file and the line.

PyYAML's composer keeps a mark (line, column) on every node; :class:`_LineLoader` builds the data
and, alongside, an index from each path in the document (``("rules", "approver", "cases", 0)``)
to its line. A pydantic error location is a path too, so it maps back to the line a clerk must
fix. Nothing here runs at import time: services pass the directory explicitly or let
:func:`default_policies_dir` find it when they ask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from govkit.policy.model import Pack

POLICIES_DIR_ENV = "GOVPROJ_POLICIES_DIR"
TENANTS_FILE = "tenants.yaml"

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class PolicyError(Exception):
    """Base of every policy-engine error; its message is one line a clerk or operator can act on."""


class PackLoadError(PolicyError):
    """A pack or tenants file that cannot be loaded; ``file`` and ``line`` say where."""

    def __init__(self, file: Path, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {message}")


class UnknownPackError(PolicyError, KeyError):
    """No pack with that id is loaded."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown pack"


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that also records the line of every mapping key and sequence item."""


def _index_lines(node: yaml.Node, path: Path_, index: dict[Path_, int], file: Path) -> None:
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                # PyYAML silently keeps the last duplicate; in a rule book that hides a typo.
                raise PackLoadError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            seen.add(key)
            index[(*path, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*path, key), index, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), index, file)


def read_yaml(file: Path) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML file; return the data and the path → line index."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackLoadError(file, None, f"cannot read: {exc.strerror or exc}") from exc
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PackLoadError(file, 1, "empty file")
        index: dict[Path_, int] = {}
        _index_lines(node, (), index, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PackLoadError(file, line, f"invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise PackLoadError(file, None, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return data, index


def line_of(loc: tuple[str | int, ...], index: Mapping[Path_, int]) -> tuple[Path_, int | None]:
    """The document path and line of the deepest part of a pydantic error location.

    Pydantic inserts type tags into locations (``Rule[bool]``, ``function-after[...]``); they are
    not in the document and are skipped.
    """
    path: Path_ = ()
    line = index.get(path)
    for part in loc:
        candidate = (*path, part)
        if candidate in index:
            path = candidate
            line = index[candidate]
    return path, line


def validate_file(model: type[M], data: Any, index: Mapping[Path_, int], file: Path) -> M:
    """Validate ``data`` against ``model``; the first error becomes a :class:`PackLoadError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        path, line = line_of(loc, index)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        elif err["type"] == "missing":
            message = f"missing key {loc[-1]!r}"
        shown = ".".join(str(p) for p in path) or "<top>"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PackLoadError(file, line, f"{shown}: {message}{more}") from exc


def load_pack(file: Path) -> Pack:
    """Load and validate one pack; the file name must be ``<id>.yaml``."""
    data, index = read_yaml(file)
    pack = validate_file(Pack, data, index, file)
    if pack.id != file.stem:
        raise PackLoadError(file, index.get(("id",)), f"pack id {pack.id!r} does not match the file name")
    return pack


def default_policies_dir() -> Path:
    """``$GOVPROJ_POLICIES_DIR``, else the repository's ``policies/`` folder."""
    env = os.environ.get(POLICIES_DIR_ENV)
    if env:
        return Path(env)
    # policies/ sits at the repository root, above <root>/libs/govkit/src/govkit/policy/; walk up
    # rather than count levels so a moved package still finds it.
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "policies").is_dir() and (parent / "libs").is_dir():
            return parent / "policies"
    return here.parents[len(here.parents) - 1] / "policies"


@dataclass
class PolicyRegistry:
    """All packs of a policies directory, by id, plus the tenant mapping when there is one."""

    directory: Path
    packs: dict[str, Pack] = field(default_factory=dict)
    tenants: Any = None  # govkit.policy.resolution.TenantMap; typed loosely to avoid an import cycle

    @classmethod
    def load(cls, policies_dir: Path | str | None = None) -> PolicyRegistry:
        """Load every ``*.yaml`` pack of ``policies_dir`` (default: :func:`default_policies_dir`).

        ``tenants.yaml``, when present, is loaded too and checked against the packs.
        """
        from govkit.policy.resolution import load_tenants

        directory = Path(policies_dir) if policies_dir is not None else default_policies_dir()
        if not directory.is_dir():
            raise PackLoadError(directory, None, "policies directory not found")
        registry = cls(directory=directory)
        for file in sorted(directory.glob("*.yaml")):
            if file.name == TENANTS_FILE:
                continue
            pack = load_pack(file)
            registry.packs[pack.id] = pack
        for pack in registry.packs.values():
            if pack.supersedes is not None and pack.supersedes not in registry.packs:
                file = directory / f"{pack.id}.yaml"
                raise PackLoadError(file, None, f"supersedes unknown pack {pack.supersedes!r}")
        tenants_file = directory / TENANTS_FILE
        if tenants_file.exists():
            registry.tenants = load_tenants(tenants_file, registry)
        return registry

    def get(self, pack_id: str) -> Pack:
        """The pack with that id, or :class:`UnknownPackError` listing the known ones."""
        try:
            return self.packs[pack_id]
        except KeyError:
            known = ", ".join(sorted(self.packs)) or "none"
            raise UnknownPackError(f"unknown pack {pack_id!r} (known: {known})") from None

    def __iter__(self) -> Iterator[Pack]:
        return iter(sorted(self.packs.values(), key=lambda p: p.id))
