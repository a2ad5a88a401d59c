"""A synthetic registry in the real files' shape, for tests and scale benchmarks.

``gen_registry`` writes a full-size registry in the current 8-column format (ABC-3xx/4xx/8xx, DEF-9xx, split
like the July 2026 publication): real operators' spellings and ИНН plus made-up local operators, real region
names. The real operators of the MNP files (:data:`MNP_OPERATORS`) hold its DEF ranges; the MNP generator
(:mod:`worker.data.synthetic.mnp`) ports numbers between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

# The July 2026 publication's row counts (docs/data.md): the default split of a synthetic registry.
FILE_SHARES: Final = {"ABC-3xx": 68_546, "ABC-4xx": 286_946, "ABC-8xx": 73_826, "DEF-9xx": 16_994}
FILE_CODES: Final = {
    "ABC-3xx": (301, 400),
    "ABC-4xx": (401, 500),
    "ABC-8xx": (800, 900),
    "DEF-9xx": (900, 1000),
}
HEADER: Final = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"

# (OrgCode, MNC, ИНН, OrgName, share of ported numbers)
MNP_OPERATORS: Final = (
    ("mMTS", "01", "7740000076", 'ПАО "МТС"', 0.27),
    ("mMEGAFON", "02", "7812014560", 'ПАО "МегаФон"', 0.25),
    ("mBEELINE", "99", "7713076301", 'ПАО "ВымпелКом"', 0.20),
    ("mTELE2", "20", "7743895280", 'ООО "Т2 Мобайл"', 0.18),
    ("mYOTA", "11", "7701725181", 'ООО "Скартел"', 0.04),
    ("mTMOB", "62", "7743200179", 'ООО "Т-Моб"', 0.02),
    ("mSBERTEL", "50", "7736264044", 'ООО "Сбербанк-Телеком"', 0.02),
    ("mMOTIV", "35", "6661079603", 'ООО "Екатеринбург-2000"', 0.01),
    ("mKTELECOM", "32", "2308210371", 'ООО "К-Телеком"', 0.01),
)
# Real operators of the registry (ИНН, spelling as the current files upper-case it) for synthetic ABC rows.
ABC_OPERATORS: Final = (
    ("7707049388", 'ПАО "РОСТЕЛЕКОМ"', 40),
    ("7710016640", "ПАО МГТС", 4),
    ("7705017253", 'АО "МТТ"', 6),
    ("7709362765", 'ООО "ТТК-СВЯЗЬ"', 5),
    ("7740000076", 'ПАО "МТС"', 5),
    ("7713076301", 'ПАО "ВЫМПЕЛКОМ"', 5),
    ("7812014560", 'ПАО "МЕГАФОН"', 5),
    ("7709219099", 'АО "КОМПАНИЯ ТРАНСТЕЛЕКОМ"', 3),
    ("7727752084", 'ООО "МСН ТЕЛЕКОМ"', 2),
    ("0274018377", 'ПАО "БАШИНФОРМСВЯЗЬ"', 2),
    ("1681000024", 'ПАО "ТАТТЕЛЕКОМ"', 2),
    ("7810204213", 'ООО "ОБИТ"', 1),
    # Local operators: made-up names, ИНН with the non-existent tax office 00 so they match no real one.
    *((f"00{index:08d}", f'ООО "ГОРОДСКАЯ СВЯЗЬ-{index}"', 0.05) for index in range(1, 401)),
)
DEF_OPERATORS: Final = tuple((inn, name.upper(), share * 100) for _c, _m, inn, name, share in MNP_OPERATORS)
REGIONS: Final = (
    "Республика Башкортостан", "Краснодарский край", "г. Москва и Московская область", "Ростовская обл.",
    "Свердловская обл.", "Новосибирская обл.", "Республика Татарстан", "Самарская обл.", "Челябинская обл.",
    "Нижегородская обл.", "Красноярский край", "Пермский край", "Воронежская обл.", "Волгоградская обл.",
    "Саратовская обл.", "Тюменская обл.", "Омская обл.", "Иркутская обл.", "Алтайский край",
    "Ставропольский край", "Приморский край", "Хабаровский край", "Республика Дагестан", "Кемеровская обл.",
    "Оренбургская обл.", "Республика Коми", "Ярославская обл.", "Тульская обл.", "Калужская обл.",
    "Республика Саха /Якутия/", "Ханты - Мансийский - Югра АО", "Удмуртская Республика",
    "Чувашская Республика", "г. Санкт-Петербург и Ленинградская область", "Калининградская обл.",
    "Мурманская обл.", "Архангельская обл.",
)  # fmt: skip
GAR: Final = ("Город Москва, Московская область", "г. Норильск|г.о. город Норильск|Красноярский край")


def gen_registry(outdir: Path, ranges: int, *, seed: int = 1) -> list[Path]:
    """Write ABC-3xx/4xx/8xx and DEF-9xx files with ``ranges`` rows in all; returns the files."""
    rng = np.random.default_rng(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    total_share = sum(FILE_SHARES.values())
    written = []
    for name, share in FILE_SHARES.items():
        count = max(1, round(ranges * share / total_share / 0.9))  # one cut in ten is left unallocated
        operators = DEF_OPERATORS if name.startswith("DEF") else ABC_OPERATORS
        path = outdir / f"{name}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + _registry_text(rng, FILE_CODES[name], count, operators).encode())
        written.append(path)
    return written


def _registry_text(
    rng: np.random.Generator, codes: tuple[int, int], count: int, operators: Sequence[tuple[str, str, float]]
) -> str:
    code_list = np.arange(*codes)
    per_code = np.bincount(rng.integers(0, len(code_list), count), minlength=len(code_list))
    weights = np.array([weight for *_rest, weight in operators], dtype=float)
    lines = [HEADER]
    for code, pieces in zip(code_list.tolist(), per_code.tolist(), strict=True):
        if not pieces:
            continue
        # Cuts at multiples of 100, ranges leave gaps (unallocated numbers) one time in ten.
        cuts = np.sort(rng.choice(99_999, size=pieces - 1, replace=False) + 1) * 100
        bounds = np.append(cuts, 10_000_000)
        starts = np.append(0, bounds[:-1])
        owners = rng.choice(len(operators), size=pieces, p=weights / weights.sum())
        home = str(REGIONS[code % len(REGIONS)])
        for start, end, owner, draw in zip(
            starts.tolist(), bounds.tolist(), owners.tolist(), rng.random(pieces).tolist(), strict=True
        ):
            if draw < 0.1:
                continue
            inn, spelling, _weight = operators[owner]
            region, gar = home, home
            if draw > 0.99:
                region, gar = "-", GAR[int(draw * 1000) % 2]
            elif draw > 0.985:
                region = gar = f"г. Норильск|{home}"
            last = end - 1
            lines.append(f"{code};{start:07d};{last:07d};{last - start + 1};{spelling};{region};{gar};{inn}")
    return "\n".join(lines)
