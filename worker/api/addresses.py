"""Who a request is counted under: the TCP peer, or the client a trusted proxy names in X-Forwarded-For.

Entries are read from the right, skipping trusted proxies, so a client cannot choose its own address by
sending the header itself; a peer that is not a trusted proxy is believed about nothing. The address found
is what ``http.rate_limit_exempt`` is checked against: a client a trusted proxy forwards from elsewhere is
limited even though the proxy itself connects from an exempt network.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from typing import Final

from worker.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT: Final = "unknown"


def parse_networks(entries: Iterable[str], setting: str = "http.trusted_proxies") -> tuple[Network, ...]:
    """A setting's list of addresses and CIDRs as networks (a bare address is a /32 or /128)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ConfigError(f"{setting}: {entry!r} is not an IP address or network") from error
    return tuple(networks)


def within(address: str, networks: tuple[Network, ...]) -> bool:
    """``address`` (text, as aiohttp gives it) lies in one of ``networks``; never for what is no address."""
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket is 127.0.0.1
    return any(ip in network for network in networks)


class ClientAddress:
    """Resolves the address a request is counted under, and whether the rate limit exempts it."""

    def __init__(self, trusted: tuple[Network, ...], exempt: tuple[Network, ...] = ()) -> None:
        self._trusted = trusted
        # Asked on every limited request, mostly about the same few addresses: parsing one costs microseconds.
        self.is_exempt: Callable[[str], bool] = functools.lru_cache(maxsize=4096)(
            functools.partial(within, networks=exempt)
        )
        """The resolved client is in ``http.rate_limit_exempt``: its requests are never limited."""

    def is_trusted(self, address: str) -> bool:
        return within(address, self._trusted)

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
