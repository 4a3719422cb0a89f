"""The web console of the edge agent (审批控制台): pages for people, a JSON API under ``/api``.

Served by the edge agent's own process (``qinglian edge run`` with a ``[web]``
section) on the agent's event loop, so every step goes through the same
:class:`edge.agent.EdgeAgent` API as the CLI and the same separation of duties.

* ``settings``  the ``[web]`` config section and its ``[[web.notify]]`` backends
* ``store``     accounts, sessions, login failures, push subscriptions, deliveries (``web.sqlite3``)
* ``service``   what each account may see and do (roles, per-village scoping)
* ``app``       the FastAPI application: HTML pages and the JSON API
* ``server``    uvicorn on the agent's loop; ``cli`` account management; ``demo`` ``qinglian demo --serve``

This module imports nothing heavy: the config parser imports :mod:`edge.web.settings`.
"""
