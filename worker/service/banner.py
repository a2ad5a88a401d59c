"""What ``numlookup run`` prints once everything listens: URLs to try, the Asterisk side, the data serving.

A first-time user sees at a glance where to point a browser or ``curl``, whether AMI and FastAGI are on, and
whether the answers come from real data or from the bundled snapshot (and how to get more).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from worker.data.dataset.format import BUNDLED
from worker.lookup.engine import LookupEngine
from worker.settings import Settings

EXAMPLE = "79170415564"


def base_url(address: Any) -> str:
    """``http://host:port`` of a bound address; an any-address (0.0.0.0, ::) is reached on loopback."""
    host, port = str(address[0]), int(address[1])
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if ip.is_unspecified:
        ip = ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"http://{shown}:{port}"


def banner(
    settings: Settings,
    engine: LookupEngine,
    *,
    addresses: Sequence[Any],
    fastagi_port: int | None,
    fetching: bool,
) -> str:
    lines = ["numlookup is running. Try:"]
    if addresses:
        base = base_url(addresses[0])
        lines += [
            f"  API      curl '{base}/get/?num={EXAMPLE}'",
            f"  page     {base}/",
            f"  health   {base}/health",
            f"  metrics  {base}/metrics",
        ]
    first, *more = data_lines(settings, engine)
    lines.append(f"Data:      {first}")
    lines += [f"           {text}" for text in more]
    if fetching:
        lines.append(f"           trying the official portal in the background ({settings.data.portal_url})")
    if engine.dataset is None or engine.dataset.meta.source == BUNDLED:
        lines.append("           full registry: 'numlookup data import FILE...' or 'numlookup data update'")
    fastagi = settings.fastagi
    if fastagi.enabled and fastagi_port is not None:
        agi = f"agi://{fastagi.host}:{fastagi_port}/num"
        lines.append(f"FastAGI:   {agi}, in a dialplan: AGI({agi},${{CALLERID(num)}})")
    else:
        lines.append("FastAGI:   off (fastagi.enabled = false)")
    servers = settings.ami.all_servers()
    lines.append(
        "AMI:       connecting to "
        + ", ".join(f"{s.username}@{s.host}:{s.port}" for s in servers)
        + " (state: /health)"
        if servers
        else "AMI:       not configured (set NUMLOOKUP_AMI__HOST and NUMLOOKUP_AMI__SECRET)"
    )
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


def data_lines(settings: Settings, engine: LookupEngine) -> list[str]:
    dataset = engine.dataset
    if dataset is None:
        return ["none: Russian numbers are answered from libphonenumber alone (no operator, no region)"]
    meta = dataset.meta
    return [
        meta.describe(settings.data.stale_after_days),
        f"{meta.ranges:,} ranges, {meta.ported:,} ported numbers (version {meta.version})",
    ]
