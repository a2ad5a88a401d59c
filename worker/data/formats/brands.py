"""Operators and their brands: the registry's legal entities keyed by ИНН, named the way users name them.

The mapping lives in ``config/brands.toml`` (``settings.data.brands``), which a user may edit. Each registry
operator becomes one :class:`~worker.answer.model.Operator`: key ИНН (or, in the oldest files without an ИНН
column, an alias from the mapping, else ``name:`` + the normalised name), legal name in readable case, brand.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from worker.answer.model import Operator
from worker.data.formats.names import fallback_brand, has_lower, name_key, readable_operator, squash
from worker.errors import ConfigError


@dataclass(frozen=True)
class BrandEntry:
    inn: str
    brand: str
    name: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class Brands:
    by_inn: dict[str, BrandEntry] = field(default_factory=dict)
    inn_by_alias: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Brands:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"brand mapping {path}: {error}") from error
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: dict[str, object], *, source: str = "brand mapping") -> Brands:
        operators = data.get("operators", {})
        if not isinstance(operators, dict):
            raise ConfigError(f"{source}: [operators] must be a table of ИНН → {{brand = ...}}")
        brands = cls()
        for inn, entry in operators.items():
            if not (inn.isdigit() and len(inn) in (10, 12)) or not isinstance(entry, dict):
                raise ConfigError(f"{source}: operators.{inn}: expected a 10- or 12-digit ИНН and a table")
            brand, name, aliases = entry.get("brand"), entry.get("name"), entry.get("aliases", [])
            unknown = set(entry) - {"brand", "name", "aliases"}
            if not isinstance(brand, str) or not brand.strip() or unknown:
                raise ConfigError(f'{source}: operators.{inn}: needs brand = "..." (and only name, aliases)')
            if name is not None and not isinstance(name, str):
                raise ConfigError(f"{source}: operators.{inn}.name must be a string")
            if not isinstance(aliases, list) or not all(isinstance(alias, str) for alias in aliases):
                raise ConfigError(f"{source}: operators.{inn}.aliases must be a list of strings")
            brands.by_inn[inn] = BrandEntry(inn, brand.strip(), name, tuple(aliases))
            for alias in aliases:
                brands.inn_by_alias[name_key(alias)] = inn
        return brands

    def key_for(self, inn: str, spelling: str) -> str:
        """The operator key of a registry row: its ИНН, or one found by alias, or ``name:`` + its name."""
        if inn:
            return inn
        normalised = name_key(spelling)
        return self.inn_by_alias.get(normalised) or f"name:{normalised}"

    def operator(self, key: str, spellings: Counter[str]) -> Operator:
        """The operator for a key, given how often each spelling of its name occurred."""
        inn = "" if key.startswith("name:") else key
        entry = self.by_inn.get(inn)
        name = entry.name if entry is not None and entry.name else choose_name(spellings)
        brand = entry.brand if entry is not None else fallback_brand(name)
        return Operator(inn=inn, name=name, brand=brand)


def choose_name(spellings: Counter[str]) -> str:
    """One readable legal name for all the spellings of one ИНН.

    Spellings that differ only in case or spacing (``ПАО "РОСТЕЛЕКОМ"``, ``ПАО "Ростелеком"``, ``ООО  "К
    ТЕЛЕКОМ"``) count as one name. The most frequent name the registry also wrote in its own case wins, in
    that case; else the most frequent name, in readable case."""
    names: dict[str, Counter[str]] = {}
    for spelling, count in spellings.items():
        clean = squash(spelling)
        names.setdefault(clean.casefold(), Counter())[clean] += count
    ranked = sorted(names.values(), key=lambda forms: (-forms.total(), min(forms)))
    for forms in ranked:
        cased = [(count, form) for form, count in forms.items() if has_lower(form)]
        if cased:
            return readable_operator(max(cased, key=lambda item: (item[0], item[1]))[1])
    if not ranked:
        return ""
    return readable_operator(max(ranked[0].items(), key=lambda item: (item[1], item[0]))[0])
