"""Scale out: many RLM runs, locally or on a Ray cluster, with one budget and resumable results.

    from rlm_toolkit.batch import load_tasks, run_batch
    for result in run_batch(load_tasks("tasks.jsonl"), make_rlm, backend="ray",
                            out="results.jsonl", max_cost=5.0):
        ...
"""

from .execute import TaskResult
from .ledger import Grant, JobLedger
from .run import count_lines, run_batch
from .tasks import BatchTask, InputProblem, load_tasks, read_tasks

__all__ = ["BatchTask", "Grant", "InputProblem", "JobLedger", "TaskResult", "count_lines",
           "load_tasks", "read_tasks", "run_batch"]
