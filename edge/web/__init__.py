"""The web console of the edge agent (审批控制台): the shell every part's pages plug into, and a JSON API
under ``/api``.

Served by the edge agent's own process (``qinglian edge run`` with a ``[web]``
section) on the agent's event loop, so every step goes through the same
:class:`edge.agent.EdgeAgent` API as the CLI and the same separation of duties.
Each registered part (``edge.modules.PARTS``) brings its router, templates and nav
tabs (the seal's are in ``edge/seal/web/``); the shell brings the rest:

* ``app``       the factory: middleware, error handlers, the shell's routers, then each part's
* ``shell``     the context every router receives: session, principal, CSRF, render, nav, export
* ``errors``    the /api error envelope and the error pages; ``middleware`` headers and body cap
* ``auth``      login, logout, one's account, push subscriptions; ``admin`` accounts
* ``inbox``     待审批 across every part; ``ledger`` the ledger pages and CSV
* ``exports``   each part's lists as CSV/XLSX; ``board`` the village notice board (村务公开, no login)
* ``store``     accounts, sessions, login failures, push subscriptions, deliveries (``web.sqlite3``)
* ``service``   who is logged in and their roles in this village's scope
* ``server``    uvicorn on the agent's loop; ``cli`` account management; ``demo`` ``qinglian demo --serve``

The ``[web]`` config section is read by the kernel (:mod:`edge.kernel.websettings`).
"""
