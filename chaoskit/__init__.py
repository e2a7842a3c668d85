"""chaoskit: inject faults, measure steady state, tell a tolerated fault from a failure."""

__version__ = "0.1.0"
