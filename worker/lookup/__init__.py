"""The lookup engine: raw text in, a typed :mod:`worker.answer.model` answer out.

- :mod:`worker.lookup.engine` — :class:`~worker.lookup.engine.LookupEngine`: the dataset's Russian ranges and
  ported numbers, then the answer caches, then libphonenumber; every front end asks it and nothing else;
- :mod:`worker.lookup.cache` — one cache protocol, in-process and Redis;
- :mod:`worker.lookup.foreign` — answers for other countries from libphonenumber's metadata;
- :mod:`worker.lookup.upstream` — upstream MNP sources for ported mobile numbers (docs/upstreams.md).

It reads datasets (:mod:`worker.data.dataset`) and never knows who asked.
"""
