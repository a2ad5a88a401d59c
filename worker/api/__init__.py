"""The HTTP API: a num.voxlink.ru drop-in (``/get/``, ``/get/v2/``) with batch, rate limit, health, metrics.

``create_app`` builds the aiohttp application on an engine; ``serve_api`` runs it inside a caller's
``AsyncExitStack`` (``numlookup run``); ``numlookup api`` runs it on its own (:mod:`worker.api.commands`).
"""

from worker.api.app import create_app
from worker.api.health import AmiState
from worker.api.server import api_site, serve_api

__all__ = ["AmiState", "api_site", "create_app", "serve_api"]
