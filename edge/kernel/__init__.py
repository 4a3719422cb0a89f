"""What every part of the edge shares: formatting, config sections, the recorder and projection, routing,
exports, the command queue and the contract each part registers through. Imports nothing from edge.seal,
edge.modules or edge.web (tests/test_layers.py)."""
