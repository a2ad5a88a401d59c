"""A numlookup with the MNP files (the head office) as the upstream of one without (a branch): two real
``numlookup api`` processes. Ported numbers come back with old_operator; the head office dying mid-run
costs the branch no failed answer."""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path

import aiohttp

from tests.data.conftest import BRANDS, FIXTURES, REAL_DEF
from tests.upstream.processes import free_port, numlookup
from worker.data.dataset.store import LocalStore
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges


def ported_sample(store: LocalStore, count: int) -> list[str]:
    dataset = store.open()
    numbers, _ = dataset.ported_arrays()
    dataset.close()
    chosen = random.Random(5).sample(sorted(int(n) for n in numbers), count)
    return [f"7{number}" for number in chosen]


async def test_a_branch_gets_ported_numbers_from_the_head_office(tmp_path: Path) -> None:
    head, branch = LocalStore(tmp_path / "head"), LocalStore(tmp_path / "branch")
    for store in (head, branch):
        import_registry(store, [REAL_DEF, FIXTURES], brands=BRANDS, keep=2)
    dataset = head.open()
    ranges = mobile_ranges(dataset.range_array(), [operator.inn for operator in dataset.operators])
    dataset.close()
    files = gen_mnp(tmp_path / "mnp", ranges, numbers=5_000, increments=1, seed=3)
    import_mnp(head, files, keep=2, brands=BRANDS)
    numbers = ported_sample(head, 30)

    head_port, branch_port = free_port(), free_port()
    upstreams = json.dumps([{"kind": "numlookup", "url": f"http://127.0.0.1:{head_port}", "rate": 1000}])
    branch_env = {"NUMLOOKUP_UPSTREAMS": upstreams, "NUMLOOKUP_UPSTREAM__DEADLINE": "2"}
    ready = "API listening on"
    async with (
        numlookup(
            head.root, "api", "--workers", "1", "--port", str(head_port), env={}, ready=ready
        ) as head_process,
        numlookup(
            branch.root, "api", "--workers", "1", "--port", str(branch_port), env=branch_env, ready=ready
        ),
        aiohttp.ClientSession() as session,
    ):

        async def ask(port: int, number: str) -> tuple[int, dict[str, str], str]:
            async with session.get(f"http://127.0.0.1:{port}/get/?num={number}") as response:
                return response.status, await response.json(), response.headers["X-Numlookup-Source"]

        for number in numbers[:20]:
            status, expected, source = await ask(head_port, number)
            assert (status, source) == (200, "mnp")
            assert "old_operator" in expected
            assert await ask(branch_port, number) == (200, expected, "upstream")
            assert await ask(branch_port, number) == (200, expected, "cache")

        head_process.send_signal(signal.SIGKILL)  # the head office dies mid-run
        await head_process.wait()
        for number in numbers[20:]:
            status, body, source = await ask(branch_port, number)
            assert (status, source) == (200, "registry")  # the branch's own answer: no old_operator
            assert "old_operator" not in body
        for number in numbers[:20]:  # what it learned stays
            assert (await ask(branch_port, number))[2] == "cache"
