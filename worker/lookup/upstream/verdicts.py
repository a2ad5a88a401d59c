"""What a source's verdict makes of a local answer: the operator records it names, ported or not."""

from __future__ import annotations

from collections.abc import Callable

from worker.answer.model import Operator, RussianAnswer
from worker.data.dataset.format import Dataset
from worker.lookup.upstream.sources import Verdict
from worker.lookup.upstream.store import Entry

Resolve = Callable[[Verdict], Operator]  # a verdict's current operator as one of ours


def apply(answer: RussianAnswer, entry: Entry, via: str, resolve: Resolve) -> RussianAnswer:
    """``answer`` with the operator ``entry`` says the number belongs to; the local answer when it says
    nothing (a failure, or a number the source does not know)."""
    verdict = entry.verdict
    if verdict is None:
        return answer
    allocation = answer.allocation
    holder = allocation.operator
    recipient = resolve(verdict) if is_ported(verdict, holder) else None
    if recipient is not None and same_operator(recipient, holder):
        recipient = None
    return RussianAnswer(answer.national, allocation, recipient, via)


class OperatorIndex:
    """Our own operator records by ИНН, name and brand (so an upstream's "мегафон" reads as our МегаФон),
    rebuilt when the dataset changes."""

    def __init__(self) -> None:
        self._dataset: Dataset | None = None
        self._index: dict[str, Operator] = {}

    def of(self, dataset: Dataset | None) -> Resolve:
        if dataset is not self._dataset or not self._index:
            index: dict[str, Operator] = {}
            for operator in dataset.operators if dataset is not None else []:
                for key in (operator.inn, operator.name.casefold(), operator.brand.casefold()):
                    if key:
                        index.setdefault(key, operator)
            self._dataset, self._index = dataset, index
        return self._resolve

    def _resolve(self, verdict: Verdict) -> Operator:
        for key in (verdict.inn, verdict.operator.casefold()):
            if key and key in self._index:
                return self._index[key]
        name = verdict.operator or verdict.inn
        return Operator(verdict.inn, name, name)


def is_ported(verdict: Verdict, holder: Operator) -> bool:
    """Did the number leave its range holder? As the source says, else by comparing with the holder."""
    if verdict.ported is not None:
        return verdict.ported
    if verdict.inn and holder.inn:
        return verdict.inn != holder.inn
    return verdict.operator.casefold() not in (holder.brand.casefold(), holder.name.casefold())


def same_operator(one: Operator, other: Operator) -> bool:
    if one.inn and other.inn:
        return one.inn == other.inn
    return one.brand.casefold() == other.brand.casefold()
