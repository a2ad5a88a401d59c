"""The lookup page in a real headless Chromium: its JavaScript asks the API and shows both answers."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.api.conftest import Client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (CI installs it)"
)


async def chromium(url: str, profile: Path, *extra: str) -> str:
    assert CHROMIUM is not None, "CI must install chromium"
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *extra, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode()


def pre(dom: str, element_id: str) -> str:
    match = re.search(rf'<pre id="{element_id}"[^>]*>(.*?)</pre>', dom, re.S)
    assert match, dom
    return html.unescape(match[1])


async def test_page_shows_v1_and_v2_answers(client: Client, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{client.port}/?num=79000000000"
    dom = await chromium(url, tmp_path / "profile", "--dump-dom")
    assert 'data-done="1"' in dom
    v1 = pre(dom, "v1")
    assert '"operator": "МТС"' in v1
    assert '"old_operator": "Т2"' in v1
    assert '"region": "Краснодарский край"' in v1
    v2 = pre(dom, "v2")
    assert '"registrar": "MTS"' in v2
    assert '"flag_icon": "🇷🇺"' in v2
    assert "200 OK · source: mnp" in dom  # where the operator came from: the local MNP data


async def test_page_shows_an_error_answer(client: Client, tmp_path: Path) -> None:
    dom = await chromium(
        f"http://127.0.0.1:{client.port}/?num=a79000000000", tmp_path / "profile", "--dump-dom"
    )
    assert "Неверный формат номера: num=a79000000000" in pre(dom, "v1")
    assert '"destination": "not found"' in pre(dom, "v2")
    assert "404 Not Found" in dom


async def test_page_screenshot(client: Client, tmp_path: Path) -> None:
    shot = Path(os.environ.get("NUMLOOKUP_SCREENSHOT", tmp_path / "page.png"))
    url = f"http://127.0.0.1:{client.port}/?num=79000000000"
    await chromium(url, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1100,700")
    header = await asyncio.to_thread(shot.read_bytes)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
