"""The talk's recipe 737 (blacklist by region) and its FastAGI form 742, run as asterisk-conf/extensions.conf
writes them, on the real registry data: a fixed line of Республика Башкортостан and the mobile 79170415564
are both rejected, a number of another subject is not.

No Asterisk runs here, so :class:`Dialplan` plays it: it reads the extensions from the shipped file and runs
the few applications and functions they use (``Set``, ``GotoIf``, ``Gosub``/``Return``, ``AGI``,
``Playback``, ``Hangup``; ``CURL``, ``JSON_DECODE``, ``FILTER``, ``URIENCODE``, ``ENV``, ``CALLERID``).
``CURL`` is a real HTTP request to a real API server and ``AGI`` a real FastAGI session on a socket, with
this side answering ``200 result=1`` as Asterisk does, so every variable the dialplan reads came over the
wire. Anything else in the extension fails the test instead of being skipped.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.data.conftest import BRANDS, REAL_DEF, ROSSVYAZ
from worker.api.app import create_app
from worker.asterisk.fastagi import FastAgiServer
from worker.asterisk.stats import HandlerStats
from worker.data.dataset.store import LocalStore
from worker.data.importer.registry import import_registry
from worker.lookup.engine import LookupEngine
from worker.settings import FastAgiSettings, HttpSettings, Settings

EXTENSIONS = Path(__file__).resolve().parents[2] / "asterisk-conf" / "extensions.conf"
SAMPLE = ROSSVYAZ / "abc-sample" / "ABC-3xx-sample.csv"
BASHKORTOSTAN_FIXED = (
    "73474521100"  # 347;4521100;…;ПАО "БАШИНФОРМСВЯЗЬ";р-н Аургазинский|Республика Башкортостан
)
BASHKORTOSTAN_MOBILE = "79170415564"  # the talk's own number: МТС, Республика Башкортостан
ULAN_UDE_FIXED = "73012110000"  # 301;2110000;…;г. Улан-Удэ|Республика Бурятия: another subject


class Hangup(Exception):
    def __init__(self, cause: str) -> None:
        self.cause = cause


@dataclass
class Step:
    label: str | None
    app: str
    data: str


def read_dialplan(text: str) -> dict[tuple[str, str], list[Step]]:
    """``(context, extension)`` → its priorities, in order (``exten => X,1,...`` then ``same => n...``)."""
    plan: dict[tuple[str, str], list[Step]] = {}
    context = current = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()  # as Asterisk reads it: ";" starts a comment
        if line.startswith("[") and line.endswith("]"):
            context = line[1:-1]
        elif line.startswith("exten =>"):
            current, _priority, rest = line.removeprefix("exten =>").strip().split(",", 2)
            plan[(context, current)] = [step(None, rest)]
        elif line.startswith("same =>"):
            priority, rest = line.removeprefix("same =>").strip().split(",", 1)
            label = re.fullmatch(r"n\((\w+)\)", priority)
            plan[(context, current)].append(step(label.group(1) if label else None, rest))
    return plan


def step(label: str | None, rest: str) -> Step:
    app, _, data = rest.partition("(")
    return Step(label, app, data.removesuffix(")"))


@dataclass
class Dialplan:
    plan: dict[tuple[str, str], list[Step]]
    env: dict[str, str]
    callerid: str
    variables: dict[str, str] = field(default_factory=dict)
    played: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    async def run(self, context: str, extension: str) -> str:
        """Run an extension to its end; the hangup cause (``""`` for a plain ``Hangup()``)."""
        try:
            await self._steps(context, extension)
        except Hangup as hangup:
            return hangup.cause
        raise AssertionError(f"{extension} ended without Hangup: {self.trace}")

    async def _steps(self, context: str, extension: str) -> None:
        steps = self.plan[(context, extension)]
        index = 0
        while index < len(steps):
            current = steps[index]
            self.trace.append(f"{extension}:{index + 1} {current.app}({current.data})")
            index += 1
            if current.app == "Return":
                return
            target = await self._execute(current)
            if target is not None:
                index = next(i for i, s in enumerate(steps) if s.label == target)

    async def _execute(self, current: Step) -> str | None:
        app, data = current.app, current.data
        if app == "NoOp":
            await self.expand(data)
        elif app == "Set":
            name, _, value = data.partition("=")
            if not name.startswith("ARRAY(CURLOPT("):  # curl time-outs: nothing to do here
                self.variables[name] = await self.expand(value)
        elif app == "GotoIf":
            condition, _, labels = data.partition("?")
            yes, _, no = labels.partition(":")
            chosen = yes if self.truth(await self.expand(condition)) else no
            return chosen or None
        elif app == "Gosub":
            context, exten, _priority = data.split(",")
            await self._steps(context, exten)
        elif app == "Playback":
            self.played.append(data)
        elif app == "Hangup":
            raise Hangup(data)
        elif app == "AGI":
            await self.agi(*(await self.expand(data)).split(","))
        else:
            raise AssertionError(f"the test's dialplan does not know {app}({data})")
        return None

    @staticmethod
    def truth(expression: str) -> bool:
        found = re.fullmatch(r'\$\["(.*)" (=|!=) "(.*)"\]', expression)
        assert found is not None, expression
        left, operator, right = found.groups()
        return (left == right) == (operator == "=")

    async def expand(self, text: str) -> str:
        """``${...}`` substituted innermost first, as Asterisk does."""
        while (start := text.rfind("${")) != -1:
            end = text.index("}", start)
            text = text[:start] + await self.value(text[start + 2 : end]) + text[end + 1 :]
        return text

    async def value(self, inner: str) -> str:
        call = re.fullmatch(r"(\w+)\((.*)\)", inner)
        if call is None:
            return self.variables.get(inner, "")
        name, argument = call.groups()
        if name == "CALLERID":
            return self.callerid
        if name == "ENV":
            return self.env.get(argument, "")
        if name == "FILTER":
            allowed, _, value = argument.partition(",")
            assert allowed == "0-9+"
            return "".join(char for char in value if char.isdigit() or char == "+")
        if name == "URIENCODE":
            return urllib.parse.quote(argument, safe="")
        if name == "CURL":
            async with aiohttp.ClientSession() as session, session.get(argument) as response:
                return await response.text()
        if name == "JSON_DECODE":
            variable, _, key = argument.partition(",")
            decoded: Any = json.loads(self.variables.get(variable, "") or "{}")
            return str(decoded.get(key, ""))
        raise AssertionError(f"the test's dialplan does not know ${{{inner}}}")

    async def agi(self, url: str, *args: str) -> None:
        """A FastAGI session as Asterisk runs it: headers, then ``200 result=1`` to each command."""
        found = re.fullmatch(r"agi://([\d.]+):(\d+)/(\w+)", url)
        assert found is not None, url
        host, port, script = found.groups()
        reader, writer = await asyncio.open_connection(host, int(port))
        arguments = "".join(f"agi_arg_{n}: {arg}\n" for n, arg in enumerate(args, 1))
        writer.write(
            f"agi_network: yes\nagi_network_script: {script}\nagi_request: {url}\n{arguments}\n".encode()
        )
        while line := (await reader.readline()).decode():
            command = re.fullmatch(r'SET VARIABLE (\w+) "(.*)"\n', line)
            assert command is not None, line
            self.variables[command.group(1)] = re.sub(r"\\(.)", r"\1", command.group(2))
            writer.write(b"200 result=1\n")
        writer.close()
        await writer.wait_closed()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = LocalStore(tmp_path_factory.mktemp("recipes") / "data")
    import_registry(store, [REAL_DEF, SAMPLE], brands=BRANDS, keep=1)
    return store.root


@pytest.fixture
async def servers(data_dir: Path, aiohttp_server: Any) -> AsyncIterator[dict[str, str]]:
    """The HTTP API and FastAGI on the real data, as the dialplan finds them (NUMLOOKUP_URL/_AGI)."""
    engine = LookupEngine(LocalStore(data_dir).open())
    settings = Settings(data_dir=data_dir, http=HttpSettings(rate_limit=0))
    api = await aiohttp_server(create_app(settings, engine))
    agi = FastAgiServer(engine, HandlerStats(), FastAgiSettings(port=0, timeout=5))
    await agi.start()
    yield {"NUMLOOKUP_URL": str(api.make_url("")).rstrip("/"), "NUMLOOKUP_AGI": f"127.0.0.1:{agi.port}"}
    await agi.close()


@pytest.mark.parametrize("extension", ["737", "742"])
@pytest.mark.parametrize(
    ("caller", "rejected"),
    [(BASHKORTOSTAN_FIXED, True), (f"+{BASHKORTOSTAN_MOBILE}", True), (ULAN_UDE_FIXED, False)],
)
async def test_blacklist_by_region(
    servers: dict[str, str], extension: str, caller: str, rejected: bool
) -> None:
    dialplan = Dialplan(read_dialplan(EXTENSIONS.read_text(encoding="utf-8")), servers, caller)
    cause = await dialplan.run("numlookup-examples", extension)
    if rejected:
        assert (cause, dialplan.played) == ("21", []), dialplan.trace
        assert dialplan.trace[-2].startswith(f"{extension}:")
        assert "blocked: caller from Республика Башкортостан" in await dialplan.expand(dialplan.trace[-2])
    else:
        assert (cause, dialplan.played) == ("", ["hello-world"]), dialplan.trace


async def test_the_fixed_line_says_where_in_the_subject(servers: dict[str, str]) -> None:
    dialplan = Dialplan(read_dialplan(EXTENSIONS.read_text(encoding="utf-8")), servers, BASHKORTOSTAN_FIXED)
    await dialplan.run("numlookup-examples", "742")
    assert dialplan.variables["NUM_REGION"] == "Республика Башкортостан"
    assert dialplan.variables["NUM_LOCALITY"] == "р-н Аургазинский"
    assert json.loads(dialplan.variables["var"])["locality"] == "р-н Аургазинский"
