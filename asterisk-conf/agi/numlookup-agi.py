#!/usr/bin/env python3
"""numlookup as a plain AGI script, for Asterisk hosts that reach only the numlookup HTTP API.

    same => n,Set(ENV(NUMLOOKUP_URL)=http://numlookup.example:8080)
    same => n,AGI(numlookup-agi.py,${FILTER(0-9+,${CALLERID(num)})}[,VERSION[,VARIABLE]])

Sets the same variables as the numlookup worker (AMI and FastAGI): NUM_OPERATOR, NUM_OLD_OPERATOR,
NUM_REGION, NUM_LOCALITY, NUM_COUNTRY, NUM_DESTINATION, NUM_TYPE, NUM_SOURCE, NUM_TZ, NUM_LOCAL_TIME,
NUM_CALLABLE (1/0), the whole answer as JSON in VARIABLE (default ``var``; v1 for Russian numbers unless
VERSION is 2), and last NUM_STATUS = OK | NOT_FOUND | INVALID | ERROR.
Python 3 standard library only; copy it to /var/lib/asterisk/agi-bin/ and make it executable.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT = float(os.environ.get("NUMLOOKUP_TIMEOUT", "2"))
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
UNSAFE = dict.fromkeys([*range(0x20), 0x7F, 0x85, 0x2028, 0x2029])


SOURCE = "X-Numlookup-Source"  # where the answer came from: registry, mnp, upstream, cache
FORMAT_ERROR = "Неверный формат номера"  # the API's 404 info for what is not a phone number
NOT_IN_REGISTRY = "Номер не найден в реестре"  # ... and for a Russian number in no registry range


def read_agi_env(stream: TextIO) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in stream:
        line = line.rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        env[name.strip()] = value.strip()
    return env


def fetch(base: str, path: str, number: str, **params: str) -> tuple[int, dict[str, Any], str]:
    """(HTTP status, JSON body, X-Numlookup-Source); a 404 is an answer too (its ``info`` says why), and so
    is v1's 503 (no registry data loaded: an ERROR for a v1 request, while v2 still answers)."""
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode({'num': number, **params})}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            status, text, source = response.status, response.read(), response.headers.get(SOURCE, "")
    except urllib.error.HTTPError as error:
        if error.code not in (404, 503):
            raise
        status, text, source = error.code, error.read(), ""
    body = json.loads(text.decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError(f"unexpected answer from {url}")
    return status, body, source


def lookup(base: str, number: str, version: int, var: str) -> list[tuple[str, str]]:
    """The variables for ``number``, NUM_STATUS last, as worker/answer.py's ``variables()`` renders them."""
    invalid = [(var, ""), ("NUM_STATUS", "INVALID")]
    v1_status, v1, v1_source = fetch(base, "/get/", number)  # 200 only for numbers in the Russian registry
    if v1_status == 404 and str(v1.get("info", "")).startswith(FORMAT_ERROR):
        return invalid
    if v1_status == 503 and version == 1:
        return [(var, ""), ("NUM_STATUS", "ERROR")]
    v2_status, v2, source = fetch(base, "/get/v2/", number)
    if v2_status != 200:
        return invalid
    if "flag_iso" not in v2:
        return [(var, dump(v2)), ("NUM_STATUS", "NOT_FOUND")]
    not_in_registry = v1_status == 404 and str(v1.get("info", "")).startswith(NOT_IN_REGISTRY)
    if v1_status == 200:  # a Russian number: the subject and the locality apart, Latin for version 2
        names = v1 if version == 1 else fetch(base, "/get/", number, translit="1")[1]
        fields = [names.get(key, "") for key in ("operator", "old_operator", "region", "locality")]
        document = dump(v1) if version == 1 else dump(v2)
        source = v1_source if version == 1 else source
    else:
        fields = [v2.get("registrar", ""), v2.get("registrar_old", ""), v2.get("location", ""), ""]
        document = dump(v2)
    return [
        ("NUM_OPERATOR", str(fields[0])),
        ("NUM_OLD_OPERATOR", str(fields[1])),
        ("NUM_REGION", str(fields[2])),
        ("NUM_LOCALITY", str(fields[3])),
        ("NUM_COUNTRY", str(v2.get("flag_iso", ""))),
        ("NUM_DESTINATION", str(v2.get("destination", ""))),
        ("NUM_TYPE", str(v2.get("type_id", ""))),
        ("NUM_SOURCE", source),
        *time_variables(v2),
        (var, document),
        ("NUM_STATUS", "NOT_FOUND" if version == 1 and not_in_registry else "OK"),
    ]


def time_variables(v2: dict[str, Any]) -> list[tuple[str, str]]:
    """NUM_TZ, NUM_LOCAL_TIME (the number's wall clock, from v2's utc_offset) and NUM_CALLABLE."""
    offset = str(v2.get("utc_offset", ""))
    if not offset:
        return [("NUM_TZ", ""), ("NUM_LOCAL_TIME", ""), ("NUM_CALLABLE", "")]
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    local = datetime.now(UTC) + sign * timedelta(hours=int(hours), minutes=int(minutes or 0))
    return [
        ("NUM_TZ", str(v2.get("timezone", ""))),
        ("NUM_LOCAL_TIME", local.strftime("%Y-%m-%d %H:%M")),
        ("NUM_CALLABLE", "1" if v2.get("callable_now") else "0"),
    ]


def dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def quote(value: str) -> str:
    """One line, in double quotes, with ``\\`` and ``"`` escaped: caller ID must not add AGI commands."""
    return '"' + value.translate(UNSAFE).replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_variables(pairs: list[tuple[str, str]], stdin: TextIO, stdout: TextIO) -> bool:
    for name, value in pairs:
        stdout.write(f"SET VARIABLE {name} {quote(value)}\n")
        stdout.flush()
        if not stdin.readline().startswith("200 result=1"):
            return False  # hung up, or Asterisk refused: stop
    return True


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    env = read_agi_env(stdin)
    number = env.get("agi_arg_1", "")
    version = 2 if env.get("agi_arg_2", "").strip() in ("2", "v2") else 1
    var = env.get("agi_arg_3", "").strip() or "var"
    if VARIABLE_NAME.fullmatch(var) is None:
        var = "var"
    base = os.environ.get("NUMLOOKUP_URL", DEFAULT_URL)
    try:
        if number.strip():
            pairs = lookup(base, number, version, var)
        else:
            pairs = [(var, ""), ("NUM_STATUS", "INVALID")]
    except (OSError, ValueError) as error:  # unreachable API, timeout, 5xx, not JSON
        print(f"numlookup-agi: {base}: {error}", file=sys.stderr)
        pairs = [(var, ""), ("NUM_STATUS", "ERROR")]
    return 0 if set_variables(pairs, stdin, stdout) else 1


if __name__ == "__main__":
    sys.exit(main())
