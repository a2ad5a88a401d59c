"""The answer of a lookup and its renderings, shared by the engine and every front end.

- :mod:`worker.answer.model` — the typed answers the engine returns;
- :mod:`worker.answer.voxlink` — num.voxlink.ru's v1 and v2 bodies with their statuses (HTTP API and CLI);
- :mod:`worker.answer.dialplan` — the same answer as dialplan variables (AMI worker and FastAGI), and what
  keeps caller-controlled text out of AMI and AGI commands;
- :mod:`worker.answer.translit` — Cyrillic → ASCII Latin, one scheme everywhere.
"""
