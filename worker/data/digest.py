"""SHA-256 hex digests of data files: how the Redis manifest and mnp-sync's state recognise a file's content.

(The portal download hashes as it streams, with ``hashlib`` directly: it never holds the whole file.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(data: bytes) -> str:
    """The digest of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The digest of a file, read in blocks: an MNP snapshot can be gigabytes."""
    with open(path, "rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()
