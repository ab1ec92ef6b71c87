"""Long-context benchmark: seeded S-NIAH, OOLONG, OOLONG-Pairs, multi-hop, unanswerable and
review-counting (aggregation) tasks, methods to compare (RLM at depth 0/1/2, the model
reading the text directly, map-reduce), scorers as in the published tasks, and summaries
with bootstrap 95% confidence intervals.

    from rlm_toolkit.bench import generate, score_answer
    task = generate("sniah", tokens=8192, seed=0)
    score_answer("4209540", task.answer_type, task.gold).score
"""

from .generate import GENERATORS, generate, parse_size, parse_sizes, suite
from .methods import DirectMethod, MapReduceMethod, Method, MethodOutput, RLMMethod
from .runner import TaskSpec, load_results, run_bench, write_reports
from .scoring import Score, score_answer
from .stats import SummaryRow, bootstrap_ci, markdown_table, summarize
from .task import Task, read_tasks, write_tasks

__all__ = [
    "GENERATORS",
    "DirectMethod",
    "MapReduceMethod",
    "Method",
    "MethodOutput",
    "RLMMethod",
    "Score",
    "SummaryRow",
    "Task",
    "TaskSpec",
    "bootstrap_ci",
    "generate",
    "load_results",
    "markdown_table",
    "parse_size",
    "parse_sizes",
    "read_tasks",
    "run_bench",
    "score_answer",
    "suite",
    "summarize",
    "write_reports",
    "write_tasks",
]
