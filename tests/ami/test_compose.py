"""No Docker engine runs here: parse docker-compose.yml and check that everything it names exists."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.api.addresses import parse_networks
from worker.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return document


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"redis", "api", "worker", "asterisk"}
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], (name, dependency)


def test_only_loopback_ports(compose: dict[str, Any]) -> None:
    published = []
    for service in compose["services"].values():
        for port in service.get("ports", []):
            host, host_port, container_port = str(port).rsplit(":", 2)
            assert ipaddress.ip_address(host).is_loopback, port
            published.append(int(host_port))
            assert int(container_port) == int(host_port)
    assert sorted(published) == [4573, 5038, 8080]


def test_mounted_files_and_build_context_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), source
            else:
                assert source in compose["volumes"], source


def test_worker_settings_match_the_asterisk_side(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["worker"]
    assert "worker" in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    env = worker["environment"]
    manager = (ROOT / "asterisk-conf" / "docker" / "manager.conf").read_text(encoding="utf-8")
    user = re.search(r"^\[(\w+)\]\nsecret = (\S+)", manager, re.MULTILINE)
    assert user is not None
    assert env["NUMLOOKUP_AMI__USERNAME"] == user.group(1)
    assert env["NUMLOOKUP_AMI__SECRET"] == "${NUMLOOKUP_AMI_SECRET:-" + user.group(2) + "}"
    assert "read = system,user\nwrite = call\n" in manager
    subnet = compose["networks"]["numlookup"]["ipam"]["config"][0]["subnet"]
    network = ipaddress.ip_network(subnet)
    assert f"permit = {network.network_address}/{network.netmask}" in manager
    asterisk_env = compose["services"]["asterisk"]["environment"]
    assert asterisk_env["NUMLOOKUP_AGI"] == f"worker:{env['NUMLOOKUP_FASTAGI__PORT']}"
    # the health check asks the worker's own status (worker.api.status), on the port it is told to serve it
    check = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{env['NUMLOOKUP_AMI__STATUS_PORT']}/health" in check
    assert f"('127.0.0.1', {env['NUMLOOKUP_FASTAGI__PORT']})" in check


def test_the_asterisk_network_is_exempt_from_the_rate_limit(compose: dict[str, Any]) -> None:
    """The dialplan's CURL() recipes call the API for every call: the compose network is never limited."""
    exempt = json.loads(compose["services"]["api"]["environment"]["NUMLOOKUP_HTTP__RATE_LIMIT_EXEMPT"])
    subnet = compose["networks"]["numlookup"]["ipam"]["config"][0]["subnet"]
    assert subnet in exempt
    assert parse_networks(exempt, "http.rate_limit_exempt")  # valid, as the API will read it


def test_dialplan_examples_are_all_there() -> None:
    dialplan = (ROOT / "asterisk-conf" / "extensions.conf").read_text(encoding="utf-8")
    for extension in range(735, 744):
        assert f"exten => {extension},1," in dialplan
    # 743: the campaign call goes to "call later" unless the number is callable now
    assert 'GotoIf($["${NUM_STATUS}" = "OK" & "${NUM_CALLABLE}" = "1"]?call)' in dialplan
    assert "(later),NoOp(call later" in dialplan
    assert "Wait(0.05)" in dialplan
    assert "UserEvent(Num,number: ${NUM})" in dialplan
    assert "AGI(agi://${NUMLOOKUP_AGI}/num,${NUM})" in dialplan
    # every use of the caller's number goes through FILTER
    for line in dialplan.splitlines():
        if "CALLERID(num)" in line and not line.lstrip().startswith(";"):
            assert "FILTER(0-9+,${CALLERID(num)})" in line, line
