"""First start: how long ``numlookup api`` takes from its process start to the first correct answer.

    python bench/first_start.py [--rounds 5]

Two cases, alternated in every round so both see the same machine load:

- **empty**: an empty data dir and no portal reachable (the portal URL points at a closed port): the process
  imports the bundled registry snapshot, then serves;
- **baseline**: the same process on a data dir that already holds that snapshot (a second start).

The difference is what the bundled import costs a first start. A correct answer is ``МТС`` for
``79170415564`` (``field=operator``), polled every 10 ms. Prints the median and the slowest of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def first_answer(data_dir: Path) -> float:
    """Seconds from starting ``numlookup api`` on ``data_dir`` to its first correct answer."""
    port = free_port()
    env = {
        **os.environ,
        "NUMLOOKUP_DATA__PORTAL_URL": f"http://127.0.0.1:{free_port()}/downloads/",
        "NUMLOOKUP_DATA__PORTAL_RETRIES": "1",
        "NUMLOOKUP_REDIS__URL": "",
        "PYTHONPATH": str(ROOT),
    }
    url = f"http://127.0.0.1:{port}/get/?num=79170415564&field=operator"
    command = [sys.executable, "-m", "worker", "--data-dir", str(data_dir), "api", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.read().decode() == "МТС":
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None:
                raise SystemExit(f"numlookup api exited with {process.returncode}")
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    empty: list[float] = []
    baseline: list[float] = []
    with tempfile.TemporaryDirectory(prefix="numlookup-first-start-") as work:
        seeded = Path(work) / "seeded"
        first_answer(seeded)  # leaves the snapshot there: the baseline's data dir
        for round_ in range(args.rounds):
            fresh = Path(work) / f"empty-{round_}"
            empty.append(first_answer(fresh))
            shutil.rmtree(fresh)
            baseline.append(first_answer(seeded))
    cases = (("empty data dir (imports the bundled snapshot)", empty), ("baseline (data there)", baseline))
    for name, times in cases:
        print(f"{name:48} median {statistics.median(times):.2f} s, slowest {max(times):.2f} s")
    print(f"the bundled import adds {statistics.median(empty) - statistics.median(baseline):.2f} s (median)")


if __name__ == "__main__":
    main()
