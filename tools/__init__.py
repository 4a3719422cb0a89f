"""Technician tools: build and sign firmware releases, flash and provision seal devices."""
