"""The thin central store (中心库): every village's ledger, checked, in one place.

Edges push signed ledger batches (:mod:`edge.sync` on the edge side, the wire
format in :mod:`edge.syncwire`); the store verifies each batch completely
(hash chain, Merkle root, Ed25519 checkpoint signature, RFC 6962 consistency
with the last accepted checkpoint) before storing any of it, keeps every
accepted checkpoint as the witness, flags an edge whose history was rewritten,
pushes configuration down, and serves read-only views to township and county
supervisors.

    qinglian central run --db sqlite:///data/central.sqlite3 --listen 127.0.0.1:8700
"""
