"""Building new dataset versions: registry or MNP files in, one complete version published atomically.

- :mod:`.build`: what both importers share: the build, range holders, the MNP codes carried from version
  to version, the :class:`~.build.Progress` protocol and :func:`~.build.publish_build`;
- :mod:`.registry`: :func:`~.registry.import_registry` (the current version's ported numbers carried over);
- :mod:`.mnp`: :func:`~.mnp.import_mnp` (MNP files applied onto the current version's registry);
- :mod:`.bundled`: :func:`~.bundled.import_bundled` (the registry snapshot shipped in
  ``worker/data/bundled/``, into a data dir that has no dataset).

Imports :mod:`worker.data.formats` and :mod:`worker.data.dataset`; :mod:`worker.data.updates` and the CLI
call it.
"""
