"""Fault simulator: random realistic estates, injected faults, propagated symptoms and noise."""

from rca.simulator.incident import FAULT_TYPES, SimulatedIncident, simulate

__all__ = ["FAULT_TYPES", "SimulatedIncident", "simulate"]
