"""Imports flow one way: front ends → engine → dataset → data formats (docs/layout.md).

Every module of the ``worker`` package is read with :mod:`ast` (imports inside functions count too) and
checked against the rules below, so a backwards import fails here instead of growing into a tangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

PACKAGE: Final = Path(__file__).resolve().parents[1] / "worker"

FRONT_ENDS: Final = ("worker.api", "worker.asterisk", "worker.handlers", "worker.cli")
SERVICE: Final = "worker.service"
# The AMI worker is one front end in two packages: the design fixed `worker/handlers/` for its handlers.
SAME_FRONT_END: Final = {"worker.asterisk": "worker.handlers", "worker.handlers": "worker.asterisk"}

# module prefix → prefixes it must not import (every prefix that matches a module applies)
FORBIDDEN: Final[dict[str, tuple[str, ...]]] = {
    # the vocabulary everything shares: answers and their renderings, input parsing, settings, errors
    "worker.answer": ("worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    "worker.numbers": ("worker.answer", "worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    "worker.subjects": ("worker.answer", "worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    "worker.errors": ("worker.answer", "worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    "worker.settings": ("worker.answer", "worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    "worker.metrics": ("worker.lookup", "worker.data", SERVICE, *FRONT_ENDS),
    # data code never drives the engine or a front end; inside it, formats know nothing of what is built
    "worker.data.formats": ("worker.data.dataset", "worker.data.importer", "worker.data.updates"),
    "worker.data.dataset": ("worker.data.importer", "worker.data.updates", "worker.data.synthetic"),
    "worker.data.importer": ("worker.data.updates", "worker.data.synthetic"),
    "worker.data": ("worker.lookup", SERVICE, *FRONT_ENDS),
    # the engine knows datasets, never who asked
    "worker.lookup": (SERVICE, *FRONT_ENDS),
    # the composition root builds front ends; the CLI calls it, never the other way round
    SERVICE: ("worker.cli",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str) -> Iterator[str]:
    """Every ``worker`` module ``source`` imports, anywhere in it (relative imports resolved)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("worker"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            if base.startswith("worker"):
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imports: Iterator[str]) -> list[str]:
    found = []
    forbidden = [bad for prefix, bads in FORBIDDEN.items() if within(module, prefix) for bad in bads]
    front = next((prefix for prefix in FRONT_ENDS if within(module, prefix)), None)
    for target in imports:
        found += [f"{module} imports {target}" for bad in forbidden if within(target, bad)]
        if front is not None:
            others = [f for f in FRONT_ENDS if f not in (front, SAME_FRONT_END.get(front))]
            if front != "worker.cli":
                others.append(SERVICE)
            found += [f"front end {module} imports {target}" for f in others if within(target, f)]
    return sorted(set(found))


def test_imports_flow_one_way() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        found += violations(module, imported(path.read_text(encoding="utf-8"), module))
    assert found == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "worker.data.dataset.store",
            "from worker.lookup.engine import LookupEngine",
            "imports worker.lookup",
        ),
        ("worker.data.formats.mnp", "from worker.data.dataset import ported", "imports worker.data.dataset"),
        ("worker.api.views", "def f():\n    from worker.asterisk import ami", "front end worker.api.views"),
        ("worker.asterisk.fastagi", "from ..api.replies import json_response", "imports worker.api.replies"),
        ("worker.api.site", "import worker.service.resources", "imports worker.service.resources"),
        ("worker.answer.voxlink", "from worker.lookup.engine import LookupEngine", "imports worker.lookup"),
        ("worker.service.serve", "from worker.cli import serve", "imports worker.cli"),
    ],
)
def test_backwards_imports_are_caught(module: str, source: str, expected: str) -> None:
    found = violations(module, imported(source, module))
    assert any(expected in line for line in found), found


def test_the_handlers_and_the_cli_may_use_what_is_theirs() -> None:
    assert (
        violations("worker.handlers.num", imported("from worker.asterisk.ami import AmiEvent", "x.y")) == []
    )
    assert violations("worker.cli.serve", imported("from worker.service.serve import serve_api", "x.y")) == []
