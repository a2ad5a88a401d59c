"""The real data the tests read, carried in the repository (see README.md here): paths to use in tests.

The registry CSVs are stored xz-compressed; :data:`ROSSVYAZ` is a directory holding them uncompressed, made
once per machine in the system's temporary directory (keyed by the checksums, so a changed copy makes a new
one) and checked against ``SHA256SUMS``. The readers under test then see the files exactly as published.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
AMI = HERE / "ami"


def _expected() -> dict[str, str]:
    lines = (HERE / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def _materialise() -> Path:
    expected = _expected()
    key = hashlib.sha256("".join(sorted(expected.values())).encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / f"numlookup-realdata-{key}"
    for name, digest in expected.items():
        target = root / name
        if target.is_file():
            continue
        data = lzma.decompress((HERE / f"{name}.xz").read_bytes())
        if hashlib.sha256(data).hexdigest() != digest:
            raise RuntimeError(f"tests/realdata/{name}.xz does not match SHA256SUMS: a damaged copy")
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.{os.getpid()}")
        scratch.write_bytes(data)
        scratch.replace(target)  # atomic: parallel test runs never see half a file
    return root / "rossvyaz"


ROSSVYAZ = _materialise()
