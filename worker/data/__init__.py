"""Everything about the data behind the answers: from the official files to the dataset every engine serves.

Subpackages, each importing only those before it (``formats`` ← ``dataset`` ← ``importer`` ← ``updates``):

- :mod:`~worker.data.formats`: readers of the official files (numbering registry, MNP files) and of the
  brands mapping, with the readable spellings of names;
- :mod:`~worker.data.dataset`: the versioned on-disk dataset (its format and reader, its writer), the ported
  set while a version is built, the local store of versions and their copy in Redis;
- :mod:`~worker.data.importer`: registry or MNP files in, one new version published;
- :mod:`~worker.data.updates`: keeping the data current (the registry portal, ``data update``, history,
  ``mnp-sync``), handed an importer rather than importing one;
- :mod:`~worker.data.synthetic`: generators of registry and MNP files in the formats' shape, for tests and
  benchmarks; they import nothing from the others, so the real readers are what checks them.

:mod:`~worker.data.digest` (SHA-256 of a data file) is a leaf any of them may use.
"""
