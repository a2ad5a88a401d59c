"""The docs and the code point only inside the repository, at files that exist: a clone documents itself."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CODE = sorted((REPO / "worker").rglob("*.py")) + sorted((REPO / "tests").rglob("*.py"))
OUTSIDE = re.compile(r"\.\./shared|\.\./seed|shared/docs|shared/data|/work/")
LINK = re.compile(r"\]\(([^)#\s]+)")
DOC_PATH = re.compile(r"\bdocs/[\w.-]+\.md\b")


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in [*DOCS, *CODE]
        if path.name != "test_docs.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_links_and_doc_paths_resolve_inside_the_repository() -> None:
    missing = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # http:, mailto:
                continue
            resolved = (path.parent / target).resolve()
            if not resolved.is_relative_to(REPO) or not resolved.exists():
                missing.append(f"{path.relative_to(REPO)} → {target}")
    for path in [*DOCS, *CODE]:
        for name in DOC_PATH.findall(path.read_text(encoding="utf-8")):
            if not (REPO / name).is_file():
                missing.append(f"{path.relative_to(REPO)} → {name}")
    assert missing == []
