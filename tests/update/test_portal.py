"""The portal client against a fake portal on a real socket: listing, refusals, bad transfers, TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.update.portal_fake import FILES, FakePortal
from worker.data.updates.portal import Portal, check_header, parse_listing
from worker.errors import PortalError

NGINX_LISTING = """<html>
<head><title>Index of /downloads/</title></head>
<body>
<h1>Index of /downloads/</h1><hr><pre><a href="../">../</a>
<a href="ABC-3xx.csv">ABC-3xx.csv</a>                                    18-Jul-2026 03:12         8912345
<a href="DEF-9xx.csv">DEF-9xx.csv</a>                                    19-Aug-2026 14:05:09      3143079
<a href="old/">old/</a>                                           01-Jan-2025 00:00               -
<a href="ABC-4xx.csv">ABC-4xx.csv</a>                                    18-Jul-2026 03:13              35M
</pre><hr></body>
</html>
"""


def test_listing_gives_times_and_exact_sizes() -> None:
    listed = parse_listing(NGINX_LISTING)
    assert listed["ABC-3xx.csv"].modified == "2026-07-18T03:12:00"
    assert listed["ABC-3xx.csv"].size == 8912345
    assert listed["DEF-9xx.csv"].modified == "2026-08-19T14:05:09"
    assert listed["ABC-4xx.csv"].size is None  # a rounded size is no size
    assert "../" not in listed


async def test_listing_of_the_fake_portal(portal: Portal, fake_portal: tuple[FakePortal, str]) -> None:
    fake, _ = fake_portal
    listed = await portal.listing()
    assert set(listed) == set(FILES)
    assert listed["DEF-9xx.csv"].size == len(fake.files["DEF-9xx.csv"])


async def test_without_a_browser_user_agent_the_portal_refuses(fake_portal: tuple[FakePortal, str]) -> None:
    _, url = fake_portal
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 403  # the fake behaves like the portal ...
    async with Portal(url) as portal:
        assert (await portal.listing()).keys() == set(FILES)  # ... and the client passes


async def test_a_refusal_says_why_in_one_line(portal: Portal, fake_portal: tuple[FakePortal, str]) -> None:
    fake_portal[0].forbid_all = True
    with pytest.raises(PortalError, match=r"403 Forbidden.*non-Russian IP") as caught:
        await portal.listing()
    assert "\n" not in str(caught.value)
    assert fake_portal[0].hits["/"] == 1  # a refusal is not retried


async def test_unreachable_portal_is_retried_then_reported(unused_tcp_port: int) -> None:
    async with Portal(f"http://127.0.0.1:{unused_tcp_port}/downloads/", retries=2, backoff=0) as portal:
        with pytest.raises(PortalError, match=r"unreachable .*gave up after 2 attempts"):
            await portal.listing()


async def test_download_is_complete(
    portal: Portal, fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, _ = fake_portal
    seen: list[tuple[int, int | None]] = []
    fetched = await portal.download(
        "DEF-9xx.csv", tmp_path, lambda _, done, total: seen.append((done, total))
    )
    assert fetched.path.read_bytes() == fake.files["DEF-9xx.csv"]
    assert seen[-1] == (len(fake.files["DEF-9xx.csv"]), len(fake.files["DEF-9xx.csv"]))


async def test_slow_transfer_completes(
    portal: Portal, fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, _ = fake_portal
    fake.slow = True
    fetched = await portal.download("ABC-3xx.csv", tmp_path)
    assert fetched.path.read_bytes() == fake.files["ABC-3xx.csv"]


@pytest.mark.parametrize("fault", ["truncate", "stall", "fail"])
async def test_broken_transfer_is_retried(
    portal: Portal, fake_portal: tuple[FakePortal, str], tmp_path: Path, fault: str
) -> None:
    fake, _ = fake_portal
    getattr(fake, fault)["ABC-8xx.csv"] = 1
    fetched = await portal.download("ABC-8xx.csv", tmp_path)
    assert fetched.path.read_bytes() == fake.files["ABC-8xx.csv"]
    assert fake.hits["ABC-8xx.csv"] == 2


async def test_a_transfer_that_keeps_breaking_fails_clearly(
    portal: Portal, fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, _ = fake_portal
    fake.truncate["ABC-8xx.csv"] = 3
    with pytest.raises(PortalError, match=r"ABC-8xx\.csv: .*gave up after 3 attempts"):
        await portal.download("ABC-8xx.csv", tmp_path)


async def test_an_html_page_instead_of_a_file_is_refused(
    portal: Portal, fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, _ = fake_portal
    fake.files["DEF-9xx.csv"] = b"<html><body>Service temporarily unavailable</body></html>"
    with pytest.raises(PortalError, match="not a registry file"):
        await portal.download("DEF-9xx.csv", tmp_path)


def test_older_registry_headers_are_accepted(tmp_path: Path) -> None:
    for header in ("АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН", "ABC/ DEF;От;До;Емкость;Оператор;Регион"):
        path = tmp_path / "f.csv"
        path.write_bytes(header.encode("utf-8"))
        check_header(path)
    path.write_bytes("АВС/ DEF;От;До;Емкость;Оператор;Регион".encode("cp1251"))
    check_header(path)


async def test_tls_verification_failure_explains_the_way_out(tmp_path: Path) -> None:
    """A self-signed certificate stands for the portal's chain that most trust stores reject."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    fake = FakePortal()
    server = TestServer(fake.app(), scheme="https")
    await server.start_server(ssl=context)
    try:
        url = str(server.make_url("/downloads/"))
        async with Portal(url, retries=3, backoff=0) as portal:
            with pytest.raises(PortalError, match=r"TLS certificate verification failed.*--insecure"):
                await portal.listing()
        assert fake.hits["/"] == 0  # not retried either: it would fail the same way
        async with Portal(url, verify=False) as portal:
            assert set(await portal.listing()) == set(FILES)
    finally:
        await server.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import subprocess

    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
