"""Keeping the data current, and going back: the commands around the importers.

- :mod:`.portal`: the official registry portal's listing and checked downloads;
- :mod:`.update`: ``data update``: fetch, gate and switch to a new registry with no gap;
- :mod:`.history`: the kept versions, rolling back, and what changed between two of them;
- :mod:`.mnpsync`: ``data mnp-sync``: the MNP files an SFTP sync drops, each applied once.

The top layer of :mod:`worker.data`: uses :mod:`~worker.data.formats` and :mod:`~worker.data.dataset`, and is
handed the importer to call (the CLI wires :mod:`worker.data.importer` in), so it can be tested without one.
"""
