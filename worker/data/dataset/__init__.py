"""The versioned dataset: what an import produces and every engine loads.

- :mod:`.format`: the on-disk layout of one version and its reader :class:`~.format.Dataset`;
- :mod:`.writer`: writing a version directory (and naming a new version);
- :mod:`.ported`: the ported-number set while a version is built (sorted ``uint64`` keys, in place);
- :mod:`.store`: :class:`~.store.LocalStore`, the versions under the data dir and the atomic switch;
- :mod:`.redis_store`: versions published to Redis and fetched by every replica.

Imports :mod:`worker.data.formats` (a few constants of the files) and nothing above it.
"""
