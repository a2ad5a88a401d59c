"""Who a request is counted under: the TCP peer, or the client a trusted proxy names in X-Forwarded-For.

Entries are read from the right, skipping trusted proxies, so a client cannot choose its own address by
sending the header itself; a peer that is not a trusted proxy is believed about nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from worker.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT: Final = "unknown"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``trusted_proxies`` as networks (a bare address is a /32 or /128)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ConfigError(f"http.trusted_proxies: {entry!r} is not an IP address or network") from error
    return tuple(networks)


class ClientAddress:
    """Resolves the address a request is counted under."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self._trusted = trusted

    def is_trusted(self, address: str) -> bool:
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str:
        if peer is None:
            return UNKNOWN_CLIENT
        if forwarded_for is None or not self.is_trusted(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            candidate = entry.strip()
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                return client  # a malformed entry: count the last address a trusted hop vouched for
            client = candidate
            if not self.is_trusted(candidate):
                break
        return client
