"""The HTTP API: a num.voxlink.ru drop-in (``/get/``, ``/get/v2/``) with batch, rate limit, health, metrics.

:func:`worker.api.app.create_app` builds the aiohttp application on an engine;
:func:`worker.api.site.api_site` listens with it. :mod:`worker.service.serve` runs it, alone or next to
the AMI worker.
"""
