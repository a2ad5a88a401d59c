"""Upstream MNP sources (num.voxlink.ru, another numlookup, any JSON API): the current operator of ported
mobile numbers for installs without the MNP files. See docs/upstreams.md; the engine uses
:class:`worker.lookup.upstream.resolver.Upstreams`."""
