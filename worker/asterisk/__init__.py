"""The Asterisk side: the AMI client, its wire protocol, FastAGI and the enrichment worker that runs them.

- :mod:`worker.asterisk.ami` — the only module that uses panoramisk's ``Manager``: one logged-in session per
  Asterisk, watchdog, reconnects, safe ``Setvar``;
- :mod:`worker.asterisk.protocol` — panoramisk's ``AMIProtocol`` with the fixes the client relies on;
- :mod:`worker.asterisk.fastagi` — the blocking variant: ``AGI(agi://host:4573/num,…)``;
- :mod:`worker.asterisk.request` — a dialplan's request (number, answer version, variable) → the variables
  to set, shared by the ``UserEvent(Num)`` handler and FastAGI;
- :mod:`worker.asterisk.stats` — their counters, for ``/health`` and ``/metrics``;
- :mod:`worker.asterisk.worker` — every AMI client and FastAGI, run in the background together.

The event handlers themselves live in :mod:`worker.handlers` (the place the design fixed for them).
"""
