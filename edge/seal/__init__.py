"""The smart seal as one part of the edge: its devices, grants, evidence, request desk and web router."""
