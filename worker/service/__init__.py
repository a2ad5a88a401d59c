"""The composition root: what a serving process opens, how it follows new data, and the three serve commands.

- :mod:`worker.service.resources` — the one Redis client factory, the engine on the current dataset, the
  event loop and the signal helper;
- :mod:`worker.service.reload` — hot reload: engines follow the version the data dir or Redis names;
- :mod:`worker.service.serve` — ``numlookup api``, ``numlookup worker`` and ``numlookup run``: each builds
  its resources in one ``AsyncExitStack`` and runs the front ends on them.

Front ends never import this package; it imports them.
"""
