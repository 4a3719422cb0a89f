"""The central's own decisions (issue 14): its decision log, the signed documents it sends each village's edge,
and the hand-off of the edges' verified module entries to the central parts.

- :mod:`central.decisions.log`: the decision log (an edge ledger in ``<central data>/decisions``) and ``decide``;
- :mod:`central.decisions.delivery`: documents down on the sync exchange, settled by the edges' verified entries,
  and module entries up to the parts' ``on_entry``;
- :mod:`central.decisions.routes`: the public key (page and ``GET /api/v1/central/pubkey``) and the documents'
  delivery for supervisors.
"""
