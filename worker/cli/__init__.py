"""The command line, a front end like the API: ``numlookup`` and ``python -m worker``.

- :mod:`worker.cli.main` — the argparse tree, ``numlookup lookup`` and the entry point;
- :mod:`worker.cli.data` — ``numlookup data …``: imports, updates, history, MNP sync, generators;
- :mod:`worker.cli.serve` — ``numlookup api``, ``worker`` and ``run`` (bodies in :mod:`worker.service.serve`).
"""
