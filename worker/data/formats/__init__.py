"""Readers of the official files: they turn bytes into typed rows and know nothing of datasets or stores.

- :mod:`.registry`: every generation of the numbering registry (ABC/DEF ranges, operator, region, ИНН);
- :mod:`.mnp`: the MNP (БДПН) files: their kinds, the order they apply in, finding them, Operators lists;
- :mod:`.port_rows`: the rows of MNP port files, parsed in numpy blocks (tens of millions of them);
- :mod:`.brands`: the user-editable ИНН → operator name and brand mapping (``config/brands.toml``);
- :mod:`.names`: readable spellings of the names the registry upper-cases;
- :mod:`.places`: a row's federal subject (:mod:`worker.subjects`) and locality, from its region columns.

The bottom layer of :mod:`worker.data`: imports nothing from its other subpackages.
"""
