"""The REPL worker: model-written code runs in a separate, jailed process."""

from .host import StepResult, Worker, WorkerOptions

__all__ = ["StepResult", "Worker", "WorkerOptions"]
