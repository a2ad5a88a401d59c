"""Start-up and settings: a port in use is one line, a NUMLOOKUP_* variable naming no setting is warned
about, the Server header names no versions, and /metrics has no CORS header."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.api.conftest import make_settings
from worker.api.site import api_site
from worker.lookup.engine import LookupEngine
from worker.settings import unknown_environment

REPO = Path(__file__).resolve().parents[2]


def numlookup(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    environment.pop("NUMLOOKUP_REDIS__URL", None)
    return subprocess.run(
        [sys.executable, "-m", "worker", "--data-dir", str(tmp_path / "data"), *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line(tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = numlookup(tmp_path, "api", "--workers", workers, NUMLOOKUP_HTTP__PORT=str(port))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("numlookup:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"numlookup: the API cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in errors[0]


def test_a_numlookup_variable_naming_no_setting_is_warned_about(tmp_path: Path) -> None:
    done = numlookup(
        tmp_path, "data", "versions", NUMLOOKUP_REDIS_URL="redis://127.0.0.1:1/0", NUMLOOKUP_URL="x"
    )
    assert (
        "NUMLOOKUP_REDIS_URL names no setting and is ignored (did you mean NUMLOOKUP_REDIS__URL?)"
        in done.stderr
    )
    assert "NUMLOOKUP_URL" not in done.stderr  # the AGI script's own


def test_which_variables_are_settings() -> None:
    environ = {
        "NUMLOOKUP_REDIS__URL": "redis://x",
        "NUMLOOKUP_DATA_DIR": "/d",
        "numlookup_log_level": "DEBUG",
        "NUMLOOKUP_TIMEOUT": "2",
        "NUMLOOKUP_TEST_REDIS_URL": "redis://y",
        "NUMLOOKUP_HTTP_PORT": "1",
        "NUMLOOKUP_WHATEVER": "1",
        "PATH": "/bin",
    }
    assert unknown_environment(environ) == [
        "NUMLOOKUP_HTTP_PORT names no setting and is ignored (did you mean NUMLOOKUP_HTTP__PORT?)",
        "NUMLOOKUP_WHATEVER names no setting and is ignored (sections nest with a double underscore)",
    ]


async def test_server_header_has_no_versions_and_metrics_no_cors(
    engine: LookupEngine, data_dir: Path
) -> None:
    async with (
        api_site(make_settings(data_dir, port=0), engine, None) as runner,
        ClientSession(f"http://127.0.0.1:{runner.addresses[0][1]}") as session,
    ):
        for method, path in [
            ("GET", "/get/?num=79170415564"),
            ("GET", "/get/?num=0"),
            ("GET", "/get/v2/?num=79170415564"),
            ("GET", "/health"),
            ("GET", "/openapi.json"),
            ("GET", "/"),
            ("GET", "/nowhere"),
            ("DELETE", "/get/"),
            ("OPTIONS", "/get/"),
            ("POST", "/get/v2/batch"),
            ("GET", "/metrics"),
        ]:
            async with session.request(method, path) as response:
                await response.read()
                assert response.headers["Server"] == "numlookup", path
                cors = response.headers.get("Access-Control-Allow-Origin")
                assert cors == (None if path == "/metrics" else "*"), path
