"""清廉 Qinglian: one console script, ``qinglian``, fronting the device, edge and technician tools."""

__version__ = "0.1.0"
