"""Rate limit per client address: in process, shared through Redis, and who counts as the client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.api.conftest import Client, MakeClient
from worker.api.addresses import ClientAddress, parse_networks
from worker.api.app import LIMITER, create_app
from worker.api.counter import RedisCounter
from worker.api.ratelimit import LocalLimiter, Window
from worker.errors import ConfigError
from worker.lookup.engine import LookupEngine
from worker.settings import Settings

NOW = 1_000_000.25  # a fixed clock: a test never straddles a window boundary


def freeze(client: Client, now: float = NOW) -> None:
    client.app[LIMITER].clock = lambda: now  # type: ignore[index]


async def statuses(
    client: Client, count: int, path: str = "/get/?num=74959898533", **headers: str
) -> list[int]:
    result = []
    for _ in range(count):
        response = await client.get(path, headers=headers)
        await response.read()
        result.append(response.status)
    return result


@pytest.mark.parametrize(("rate", "seconds", "limit"), [(10, 1, 10), (1, 1, 1), (0.5, 2, 1), (0.1, 10, 1)])
def test_window(rate: float, seconds: int, limit: int) -> None:
    window = Window(rate)
    assert (window.seconds, window.limit) == (seconds, limit)


def test_local_limiter_counts_per_address_and_window() -> None:
    limiter = LocalLimiter(2)
    assert [limiter.check("a", 10.1).allowed for _ in range(3)] == [True, True, False]
    assert limiter.check("b", 10.2).allowed
    verdict = limiter.check("a", 10.6)
    assert (verdict.allowed, verdict.retry_after) == (False, 1)
    assert limiter.check("a", 11.0).allowed  # the next second starts afresh


async def test_in_process_limit_is_429_with_retry_after(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=3)
    freeze(client)
    assert await statuses(client, 3) == [200, 200, 200]
    response = await client.get("/get/v2/?num=74959898533")
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(await response.text()) == {
        "info": "Too many requests: the limit is 3 per 1 s per address",
        "retry_after": 1,
    }
    batch = await client.post("/get/batch", data="[]")
    assert batch.status == 429
    health = await client.get("/health")  # monitoring is never limited
    assert health.status == 200
    freeze(client, NOW + 1)
    assert await statuses(client, 1) == [200]


async def test_zero_turns_the_limit_off(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=0)
    freeze(client)
    assert set(await statuses(client, 30)) == {200}


async def test_replicas_share_the_count_through_redis(make_client: MakeClient, redis: Redis) -> None:
    first = await make_client(rate_limit=3, redis=redis)
    second = await make_client(rate_limit=3, redis=redis)
    freeze(first)
    freeze(second)
    assert await statuses(first, 2) == [200, 200]
    assert await statuses(second, 2) == [200, 429]
    assert await statuses(first, 1) == [429]
    assert await redis.get(f"{{numlookup:rate:{int(NOW)}}}:127.0.0.1") == b"5"
    assert 0 < await redis.ttl(f"{{numlookup:rate:{int(NOW)}}}:127.0.0.1") <= 2


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=2, trusted_proxies=["127.0.0.0/8"])
    freeze(client)
    assert await statuses(client, 3, **{"X-Forwarded-For": "203.0.113.5"}) == [200, 200, 429]
    assert await statuses(client, 1, **{"X-Forwarded-For": "203.0.113.6"}) == [200]
    # A client-supplied entry left of the real one changes nothing: the rightmost untrusted entry counts.
    assert await statuses(client, 1, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}) == [429]


async def test_forwarded_for_from_anyone_else_is_ignored(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=2, trusted_proxies=["10.0.0.0/8"])
    freeze(client)
    spoofed = [await statuses(client, 1, **{"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(3)]
    assert spoofed == [[200], [200], [429]]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "203.0.113.5, 10.0.0.7", "203.0.113.5"),
        ("10.0.0.1", "10.0.0.9, 10.0.0.7", "10.0.0.9"),  # every hop trusted: the first one
        ("10.0.0.1", "garbage", "10.0.0.1"),
        ("10.0.0.1", "garbage, 203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("192.0.2.1", "203.0.113.5", "192.0.2.1"),
        ("2001:db8::1", "203.0.113.5", "203.0.113.5"),
        (None, "203.0.113.5", "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, client: str) -> None:
    addresses = ClientAddress(parse_networks(["10.0.0.0/8", "2001:db8::1"]))
    assert addresses.resolve(peer, forwarded) == client


def test_bad_trusted_proxy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not-an-ip"):
        parse_networks(["not-an-ip"])


async def burst(client: Client, count: int, **headers: str) -> list[int]:
    """``count`` requests at once, all inside one frozen one-second window."""

    async def one() -> int:
        response = await client.get("/get/?num=74959898533", headers=headers)
        await response.read()
        return response.status

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_loopback_is_exempt_by_default_and_everyone_else_is_limited(
    aiohttp_client: Any, engine: LookupEngine, data_dir: Path
) -> None:
    """A dialplan's CURL() on this host for every call is never throttled; the limit holds for the rest."""
    defaults = Settings(data_dir=data_dir)
    assert defaults.http.rate_limit == 10
    assert defaults.http.rate_limit_exempt == ["127.0.0.0/8", "::1/128"]
    # the defaults, plus the test's own loopback peer as a trusted proxy to send from a non-exempt address
    settings = defaults.model_copy(
        update={"http": defaults.http.model_copy(update={"trusted_proxies": ["127.0.0.1"]})}
    )
    client: Client = await aiohttp_client(create_app(settings, engine))
    freeze(client)
    assert await burst(client, 200) == [200] * 200  # 200 in one second from 127.0.0.1
    outside = await burst(client, 200, **{"X-Forwarded-For": "203.0.113.5"})
    assert sorted(outside) == [200] * 10 + [429] * 190
    assert await burst(client, 5) == [200] * 5  # loopback itself is still exempt in the same window


async def test_without_exempt_networks_loopback_is_limited_like_anyone(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=2, rate_limit_exempt=[])
    freeze(client)
    assert await statuses(client, 3) == [200, 200, 429]


async def test_an_exempt_network_is_never_limited(make_client: MakeClient) -> None:
    client = await make_client(rate_limit=2, trusted_proxies=["127.0.0.1"], rate_limit_exempt=["10.1.0.0/16"])
    freeze(client)
    assert await statuses(client, 20, **{"X-Forwarded-For": "10.1.2.3"}) == [200] * 20
    assert await statuses(client, 3, **{"X-Forwarded-For": "10.2.0.1"}) == [200, 200, 429]


@pytest.mark.parametrize(
    ("client", "exempt"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # loopback IPv4 as a dual-stack socket reports it
        ("10.0.0.1", False),
        ("::2", False),
        ("unknown", False),
    ],
)
def test_exempt_networks(client: str, exempt: bool) -> None:
    addresses = ClientAddress((), parse_networks(["127.0.0.0/8", "::1/128"], "http.rate_limit_exempt"))
    assert addresses.is_exempt(client) is exempt


def test_bad_exempt_network_is_a_config_error(data_dir: Path, engine: LookupEngine) -> None:
    settings = Settings(data_dir=data_dir, http={"rate_limit_exempt": ["127.0.0.0/33"]})
    with pytest.raises(ConfigError, match=r"http\.rate_limit_exempt: '127\.0\.0\.0/33'"):
        create_app(settings, engine)


async def test_counter_coalesces_concurrent_requests_and_keeps_exact_counts(redis: Redis) -> None:
    counter = RedisCounter(redis, ttl=5)
    totals = await asyncio.gather(
        *(counter.increment("test:a") for _ in range(30)), *(counter.increment("test:b") for _ in range(20))
    )
    assert sorted(totals[:30]) == list(range(1, 31))
    assert sorted(totals[30:]) == list(range(1, 21))
    assert (await redis.get("test:a"), await redis.get("test:b")) == (b"30", b"20")
    assert 0 < await redis.ttl("test:a") <= 5
    assert await counter.increment("test:a") == 31


async def test_counter_passes_redis_errors_to_every_waiting_request() -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    counter = RedisCounter(dead, ttl=2, timeout=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(counter.increment("k") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(result, (RedisError, OSError)) for result in results), results
    assert loop.time() - started < 1  # not redis-py's seconds of reconnect backoff
    await counter.close()
    await dead.aclose()


async def test_concurrent_requests_through_redis_are_counted_exactly(
    make_client: MakeClient, redis: Redis
) -> None:
    client = await make_client(rate_limit=5, redis=redis)
    freeze(client)

    async def status() -> int:
        response = await client.get("/get/?num=74959898533")
        await response.read()
        return response.status

    results = await asyncio.gather(*(status() for _ in range(12)))
    assert sorted(results) == [200] * 5 + [429] * 7
    assert await redis.get(f"{{numlookup:rate:{int(NOW)}}}:127.0.0.1") == b"12"
