"""Switchboard's in-container runtime: the socket server every specialist image runs (stdlib only)."""

from switchboard_runtime.api import (
    BadPlan,
    InputFile,
    NeedsPlan,
    Result,
    SpecialistError,
    Table,
    Task,
)

__all__ = ["BadPlan", "InputFile", "NeedsPlan", "Result", "SpecialistError", "Table", "Task"]
