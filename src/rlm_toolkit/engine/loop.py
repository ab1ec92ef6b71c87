"""One RLM run: the root model writes code, the worker runs it, until a final answer.

The run never puts the context in the root prompt. It records every step in the trace, keeps
the root prompt bounded, and stops on any limit with its partial answer instead of raising.

Each turn is one value: the model's reply goes to `take_step`, which runs its code and returns
a `StepOutcome` (the final answer if any, the feedback, the code that produced it and what the
model had seen); the loop alone decides what follows. What persists between turns is the
`RunState`; the worker's requests are served by a `RequestServer`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import cached_property

from ..errors import (
    AuthenticationError,
    BudgetExceeded,
    OutputInvalid,
    ProviderError,
    ProviderUnreachable,
)
from ..providers.base import Completion, CompletionOptions, Message, Usage, messages_tokens
from ..sandbox import StepResult, Worker, WorkerOptions
from ..sandbox.worker.channel import decode_value
from ..sandbox.worker.helpers import Source, source_of
from ..trace import Span
from . import choices, count_items, guards, label_items, prompts
from .citations import Citation, auto_cite, check_citations, place_in_parent
from .context import PreparedContext, check_memory_limit, prepare_context_async
from .grounding import Verdict, VerifyRequest, is_not_found, rejection_feedback
from .kept import RESET_ANSWER
from .label_items import SUBCALLS_FOR_MODEL, label_plan
from .parsing import find_text_final, parse_reply
from .prompts_small import EXAMPLE_VALUES, SMALL_SYSTEM_PROMPT, is_small_model
from .result import RLMResult, Status
from .schema import OutputSchema
from .serving import DEFAULT_REPLY_TOKENS, TRACE_TEXT_LIMIT, RequestServer
from .state import RunState
from .step import StepOutcome, format_step, step_output, turn_summary
from .tree import RunTree
from .unstuck import STUCK_AFTER, unstuck_message

ANSWER_NOW_SEEN_CHARS = 6_000
#: The code (and its output) given to the verifier as the evidence of a computed answer.
CODE_EVIDENCE_CHARS = 4_000
VERIFY_REPLY_TOKENS = 200


@dataclass(frozen=True)
class Ending:
    """How the loop ended: the status, the accepted answer (None: the partial stands), why."""

    status: Status
    answer: str | None = None
    error: str | None = None


class Run:
    """A run at `depth` over one context; children are Runs at depth + 1 in the same tree."""

    def __init__(self, tree: RunTree, context: PreparedContext, query: str, depth: int = 0,
                 parent: Span | None = None, output: OutputSchema | None = None) -> None:
        self.tree = tree
        self.output = output  # the schema the final answer must match (top-level run only)
        self.context = context
        self.query = query
        self.depth = depth
        self.parent = parent
        small = tree.config.small_model
        self.small = is_small_model(tree.root.name) if small is None else small
        self.state = RunState()
        self.verify_usage = Usage()  # tokens the verifier's calls used
        self.verify_calls = 0
        self.verify_s = 0.0
        self.server = RequestServer(tree, depth, self.state.usage, self._run_child)
        self.server.files = context.files

    # --- the run ----------------------------------------------------------------------
    async def execute(self) -> RLMResult:
        """Run to an answer or a limit; the result holds the answer or the partial one."""
        started = time.perf_counter()
        cfg, tree, state = self.tree.config, self.tree, self.state
        info = self.context.info
        span = tree.trace.start("run", f"run depth={self.depth}", self.parent,
                                query=self.query, depth=self.depth, context=info.render())
        tree.emit("run_start", self.depth, query=self.query, context_chars=info.chars)
        task = prompts.user_task(
            self.query, info, await self._memory_block(), has_memory=tree.memory is not None,
            goal=tree.goal if cfg.pin_goal and self.depth > 0 else "",
            output_schema=self.output.describe() if self.output is not None else "",
            tools=[spec.line() for spec in tree.tool_specs])
        kept = tree.kept if self.depth == 0 else None
        task = (kept.history_block() if kept is not None else "") + task
        reused = kept is not None and kept.worker is not None
        worker = kept.worker if kept is not None and kept.worker is not None else Worker(
            self.context.encoded, WorkerOptions(
            sandbox=cfg.sandbox,
            step_timeout_s=cfg.step_timeout_s,
            capture_limit=max(cfg.max_output_chars * 4, 100_000),
            memory_limit_mb=cfg.memory_limit_mb,
            memory=tree.memory is not None,
            scratch_limit_mb=cfg.scratch_limit_mb,
            scratch_max_files=cfg.scratch_max_files,
        ))
        ending = Ending("max_iterations")
        deadline = asyncio.timeout(tree.time_left())
        try:
            if not reused:
                await worker.start()
            if kept is not None:  # a session's REPL: restored variables, a fresh answer
                for setup in [*kept.setup, RESET_ANSWER]:
                    await worker.execute(setup, self.server)
                kept.setup = []
            if tree.tool_specs:  # stubs that call the host by each tool's name
                names = [spec.name for spec in tree.tool_specs]
                await worker.execute(f"__rlm_tools__({names!r})", self.server)
            if self.depth == 0:
                tree.trace.metadata["environment_type"] = worker.tier
            async with deadline:
                ending = await self._loop(worker, span, task)
                if ending.answer is None and ending.status in ("max_iterations", "max_subcalls"):
                    await self._answer_now(span, task)
        except TimeoutError as exc:
            if deadline.expired():
                ending = Ending("timeout", error=f"the run passed timeout_s={cfg.timeout_s:g}s")
            else:  # raised by a provider or a tool inside the run, not the run's own deadline
                detail = str(exc) or "no details"
                ending = Ending("error", error=f"a call inside the run timed out ({detail})")
        except (ProviderUnreachable, AuthenticationError):
            if self.depth == 0 and state.root_calls <= 1:
                raise  # nothing to salvage: a configuration problem the user must fix
            ending = Ending("error", error="the provider became unreachable")
        finally:
            if kept is None:
                await worker.close()
            else:
                kept.worker = worker  # the session closes it
        answer = ending.answer if ending.answer is not None else state.partial
        budget = tree.budget
        result = RLMResult(
            answer=answer, status=ending.status, iterations=self.iterations,
            subcalls=budget.subcalls, usage=budget.usage, cost=budget.total_cost,
            elapsed_s=time.perf_counter() - started, trace=tree.trace, error=ending.error,
            depth=self.depth, model=tree.root.name, citations=list(state.citations),
            grounded=state.grounded, found=not is_not_found(answer), verdict=state.verdict,
            evidence_code=state.evidence_code,
            output=state.output if ending.status == "success" else None,
        )
        if self.verify_calls:
            result.extra["verify"] = {"calls": self.verify_calls,
                                      "elapsed_s": round(self.verify_s, 3),
                                      **self.verify_usage.to_dict()}
        span.finish(
            error=ending.error, answer=answer, status=ending.status, iterations=self.iterations,
            usage=state.usage.to_dict(), subcalls=budget.subcalls, cost=budget.total_cost,
            citations=[c.to_dict() for c in state.citations], grounded=state.grounded,
            found=result.found, verdict=None if state.verdict is None else state.verdict.to_dict(),
        )
        tree.emit("run_end", self.depth, self.iterations, status=ending.status, answer=answer)
        return result

    @property
    def iterations(self) -> int:
        """Root iterations started so far."""
        return self.state.iterations

    async def _loop(self, worker: Worker, run_span: Span, task: str) -> Ending:
        cfg, tree = self.tree.config, self.tree
        turns: list[prompts.Turn] = []
        if (opening := await self._label_items(worker, run_span)) is not None:
            turns.append(opening)
        for it in range(1, cfg.max_iterations + 1):
            self.state.iterations = it
            span = tree.trace.start("iteration", f"iteration {it}", run_span)
            tree.emit("iteration", self.depth, it)
            messages = prompts.build_messages(
                self.system_prompt, task, turns, keep_recent=cfg.keep_recent_turns,
                reply_limit=cfg.max_output_chars * 2,
            )
            span.attrs["prompt"] = messages
            try:
                completion = await self._root_call(messages, span)
            except BudgetExceeded as exc:
                span.finish(error=str(exc))
                return Ending(exc.limit, error=str(exc))
            except ProviderError as exc:
                span.finish(error=str(exc))
                if isinstance(exc, (ProviderUnreachable, AuthenticationError)) \
                        and self.state.root_calls <= 1:
                    raise
                return Ending("error", error=f"root model call failed: {exc}")
            reply = completion.text
            span.attrs["response"] = reply
            outcome = await self.take_step(worker, reply, span, it)
            feedback = list(outcome.feedback)
            if outcome.final is not None:
                refusal = self._refusal(outcome)
                if (plan := self.state.count_plan) is not None:
                    self.state.count_plan = None
                    step = await self._run_code(worker, plan.program, span, it)
                    refusal = plan.message(format_step(step, cfg.max_output_chars))
                if refusal is None:
                    refusal = await self._ground(outcome, span)
                if refusal is None and self.output is not None:
                    try:
                        self.state.output = self.output.validate(outcome.final)
                    except OutputInvalid as exc:
                        if self.state.output_retry_used:
                            error = (f"the final answer does not match the output schema "
                                     f"({self.output.name}) after one retry: {exc}; the raw "
                                     "answer is in result.answer")
                            span.finish(error=error, final_answer=outcome.final)
                            return Ending("invalid_output", outcome.final, error)
                        self.state.output_retry_used = True
                        refusal = prompts.output_invalid(str(exc))
                if refusal is None:
                    span.finish(final_answer=outcome.final)
                    return Ending("success", outcome.final)
                self.state.partial = self.state.partial or outcome.final
                feedback.append(refusal)
            if (limit := tree.budget.exhausted) is not None:
                error = f"the run's budget is spent ({limit})"
                span.finish(error=error)
                return Ending(limit, error=error)
            left = cfg.max_iterations - it
            feedback.append(f"({left} step{'s' if left != 1 else ''} left)"
                            + (prompts.SMALL_STEP_NOTE.format(query=self.query)
                               if self.small else ""))
            turns.append(prompts.Turn(reply, "\n\n".join(feedback),
                                      turn_summary(it, reply, feedback)))
            span.finish()
        return Ending("max_iterations")

    async def _label_items(self, worker: Worker, run_span: Span) -> prompts.Turn | None:
        """Small-model mode: for a question about the labels a text declares for its items,
        the host labels every item first (a step of its own) and shows the counts."""
        if not self.small or "label_items" not in self.tree.config.small_strategies:
            return None
        budget = self.tree.budget
        room = None if budget.max_subcalls is None else \
            max(1, budget.max_subcalls - budget.subcalls - SUBCALLS_FOR_MODEL)
        plan = await asyncio.to_thread(label_plan, self.query, self.source_text, room)
        if plan is None:
            return None
        span = self.tree.trace.start("iteration", "host step: label the items", run_span,
                                     host_step="label_items")
        step = await self._run_code(worker, plan.program, span, 0)
        self.state.label_table = step_output(step).strip()
        reply = f"```repl\n{plan.program}\n```"
        feedback = plan.message(format_step(step, self.tree.config.max_output_chars))
        span.finish(response=reply)
        return prompts.Turn(reply, feedback, turn_summary(0, reply, [feedback]))

    async def take_step(self, worker: Worker, reply: str, span: Span, it: int) -> StepOutcome:
        """Run the reply's code; return its outcome (a final answer if one was given)."""
        parsed = parse_reply(reply)
        state, feedback = self.state, []
        for code in parsed.code_blocks:
            seen_before = state.seen
            repeated = state.is_repeat(guards.code_key(code))
            step = await self._run_code(worker, code, span, it)
            feedback.append(format_step(step, self.tree.config.max_output_chars))
            if repeated:
                feedback.append(guards.REPEATED_CODE)
            if note := self._unstuck(repeated, step_output(step), it):
                feedback.append(note)
            if step.answer.get("content"):
                state.partial = str(step.answer["content"])
            if step.final is not None:
                if "value" in step.final:
                    return StepOutcome(str(step.final["value"]), feedback, code, seen_before,
                                       step.cite)
                feedback.append(prompts.missing_variable(str(step.final.get("missing"))))
            if step.answer.get("ready"):
                return StepOutcome(str(step.answer.get("content", "")), feedback, code,
                                   seen_before, step.cite)
            if self.tree.budget.exhausted:
                return StepOutcome(None, feedback)
        return await self._text_final(worker, parsed.code_blocks, parsed.prose, reply, span, it,
                                      feedback)

    async def _text_final(self, worker: Worker, code_blocks: list[str], prose: str, reply: str,
                          span: Span, it: int, feedback: list[str]) -> StepOutcome:
        """The outcome of a FINAL(...) written as text (or of none)."""
        text_final = find_text_final(prose)
        if text_final is None:
            if not code_blocks:
                copied = self.small and guards.copies_prompt(reply, self.prompt_text)
                feedback.append(guards.COPIED_PROMPT if copied else prompts.NO_CODE)
            return StepOutcome(None, feedback)
        name = text_final.name
        if name is not None and self.state.code_ran:
            value = await worker.resolve(name)
            if value is not None:
                return StepOutcome(value, feedback)
        if text_final.kind == "FINAL_VAR":
            feedback.append(prompts.missing_variable(text_final.value))
            return StepOutcome(None, feedback)
        if code_blocks:
            feedback.append(prompts.EARLY_TEXT_FINAL)
            return StepOutcome(None, feedback)
        if self.state.code_ran and text_final.is_expression:
            # FINAL(hits[0]) written as text: the model meant the value, so the REPL computes it.
            step = await self._run_code(worker, f"FINAL({text_final.raw})", span, it)
            if step.final is not None and "value" in step.final:
                return StepOutcome(str(step.final["value"]), feedback, cite=step.cite)
        return StepOutcome(text_final.value, feedback)

    def _unstuck(self, repeated: bool, output: str, it: int) -> str | None:
        """After STUCK_AFTER repeats in a row (same code or same output), in small-model mode,
        what the model has not tried (or, near the end, a request for its best answer)."""
        state = self.state
        same = bool(output.strip()) and output == state.last_output
        state.last_output = output
        state.stuck = state.stuck + 1 if repeated or same else 0
        if not self.small or "unstuck" not in self.tree.config.small_strategies \
                or state.stuck < STUCK_AFTER:
            return None
        state.stuck = 0
        left = self.tree.config.max_iterations - it
        return unstuck_message(self.source.text, state.codes, left)

    def _small_check(self, outcome: StepOutcome) -> str | None:
        """The small-model checks of a final (each once a run): NOT_FOUND after the host
        printed the label counts that answer it, NOT_FOUND while the data mentions the
        question's subject, the worked example's answer, an answer outside the question's own
        list of answers, names never seen, the question's subject given as its answer, a
        number read from the line about another key, a count over the text's items that never
        read them, an answer not of the kind asked (a middle hop), and a value copied from the
        data for a question whose subject the data never mentions."""
        state, final = self.state, outcome.final or ""
        strategies = self.tree.config.small_strategies
        used = state.small_checks_used
        if is_not_found(final):
            if state.label_table and "label-table" not in used:
                used.add("label-table")
                return label_items.TABLE_ANSWERS.format(output=state.label_table)
            if "answer_kind" in strategies and "unheeded" not in used and \
                    (told := guards.unheeded_subject(self.query, self.source_text)):
                used.add("unheeded")
                return told
            return None
        if "leak_guard" in strategies and "example" not in used and \
                guards.repeats_example(final, EXAMPLE_VALUES):
            used.add("example")
            return guards.EXAMPLE_ANSWER
        if "answer_kind" in strategies and "choices" not in used and \
                (told := choices.outside_choices(self.query, final, state.seen)):
            used.add("choices")
            return told
        if "leak_guard" in strategies and "names" not in used:
            seen = outcome.seen_before if outcome.final_code else state.seen
            names = guards.unseen_names(final, [seen, self.query], self.source_text)
            if names:
                used.add("names")
                return guards.unseen_name_feedback(names)
        if "answer_kind" in strategies and "echoed" not in used and \
                (told := guards.echoed_subject(self.query, final, self.source_text)):
            used.add("echoed")
            return told
        if "answer_kind" in strategies and "off-subject" not in used and \
                (told := guards.off_subject_value(self.query, final, self.source_text)):
            used.add("off-subject")
            return told
        if "count_items" in strategies and "count" not in used:
            plan = count_items.uncounted_items(self.query, self.source_text, state.codes)
            if plan is not None:  # the loop runs the plan's program and shows its output
                used.add("count")
                state.count_plan = plan
                return plan.message("")
        if "answer_kind" in strategies and "kind-again" not in used:
            again = "kind" in used  # a second middle hop: the sentence that places it is shown
            hop = guards.next_hop(self.query, final, self.source_text, again=again)
            if hop is not None:
                used.add("kind-again" if again else "kind")
                return hop
        if "answer_kind" in strategies and "unlinked-again" not in used:
            again = "unlinked" in used  # the second time, the next hop's sentences are shown
            hop = guards.unlinked_answer(self.query, final, self.source_text, again=again)
            if hop is not None:
                used.add("unlinked-again" if again else "unlinked")
                return hop
        if "abstain" in strategies and "absent" not in used and not state.label_table and \
                self._found_citations(outcome):  # a label table's answer is no copied line
            missing = guards.absent_terms(self.query, self.source_text)
            if missing:  # a value copied from a line about something else
                used.add("absent")
                return guards.absent_terms_feedback(missing, final)
        return None

    def _refusal(self, outcome: StepOutcome) -> str | None:
        """Feedback that rejects the outcome's final (each guard fires once a run), or None."""
        state, final = self.state, outcome.final or ""
        if not state.code_ran and not state.first_turn_guard_used:
            state.first_turn_guard_used = True
            return prompts.FIRST_TURN_GUARD
        if not self.small:
            return None
        if (check := self._small_check(outcome)) is not None:
            return check
        if state.small_guard_used:
            return None
        if final.strip() == self.query.strip() or guards.copies_prompt(final, self.prompt_text):
            state.small_guard_used = True
            return guards.COPIED_PROMPT
        guessed = self._guessed_numbers(outcome)
        if guessed:
            state.small_guard_used = True
            return guards.guessed_number_feedback(guessed)
        return None

    def _guessed_numbers(self, outcome: StepOutcome) -> list[str]:
        """Numbers in the final that the model typed and never saw in the data or an output.

        A final from code is judged on what was seen before that step (its output echoes it).
        """
        seen = outcome.seen_before if outcome.final_code else self.state.seen
        return guards.unsupported_numbers(outcome.final or "", outcome.final_code,
                                          [seen, self.query], self.source_text)

    # --- grounding --------------------------------------------------------------------
    async def _ground(self, outcome: StepOutcome, span: Span) -> str | None:
        """Check the final's citations and, under `verify`, its support; feedback to retry.

        An invalid citation, or a number the model typed that appears nowhere in the data or
        in any output (the small-model guard's check, here for every model), makes the answer
        ungrounded whatever else happens. With `verify`
        (top-level run only), an answer that is not supported gets one more chance with the
        verifier's reason; after that it is accepted and marked unverified.
        """
        state, final = self.state, outcome.final or ""
        citations = (check_citations(outcome.cite, self.source) if outcome.cite
                     else self._found_citations(outcome))
        state.citations, state.verdict, state.evidence_code = citations, None, ""
        bad = [i for i, c in enumerate(citations, 1) if not c.valid]
        guessed = [] if is_not_found(final) else self._guessed_numbers(outcome)
        state.grounded = False if bad or guessed else None
        if guessed:  # the same check as the small-model guard, for every model
            state.verdict = Verdict(
                "not", f"the answer's {', '.join(guessed[:5])} appear(s) nowhere in the data or "
                "in any output", judged=False)
        verifier, judge = self.tree.verifier, self.tree.judge
        if verifier is None or judge is None or self.depth > 0 or is_not_found(final):
            return None
        if guessed and state.verdict is not None:
            verdict = state.verdict
        elif bad:
            c = citations[bad[0] - 1]
            verdict = Verdict("not", f"citation {bad[0]} is not in the data: {c.reason}",
                              judged=False)
        else:
            verdict = await self._judge(outcome, citations, span)
        state.verdict = verdict
        state.grounded = verdict.supported and not bad
        if state.grounded or state.verify_retry_used:
            return None
        state.verify_retry_used = True
        state.partial = final
        return rejection_feedback(verdict)

    def _found_citations(self, outcome: StepOutcome) -> list[Citation]:
        """For an uncited answer the model typed (not computed), the context lines that hold
        it verbatim, found by the host (`Citation.auto`); none for a computed answer."""
        final, code = (outcome.final or "").strip(), outcome.final_code
        if not final or is_not_found(final) or (code and final not in code):
            return []
        return auto_cite(final, self.source, self.state.seen)

    async def _judge(self, outcome: StepOutcome, citations: list[Citation],
                     span: Span) -> Verdict:
        """The verifier's verdict; an uncited answer is judged on its code if computed.

        Lines the host found for an uncited answer (`Citation.auto`) are not the model's
        evidence: the answer counts as uncited, and the reason points at those lines.
        """
        final = outcome.final or ""
        request = VerifyRequest(self.query, final, [c.text for c in citations])
        if all(c.auto for c in citations):
            code = outcome.final_code
            if not code or final.strip() in code:  # typed by the model, not computed
                found = (f" (the data has it on line {citations[0].line}: cite that line if "
                         "it answers the question)" if citations else "")
                return Verdict("not", "the answer cites nothing in the data: cite the matches "
                               f"it rests on{found}", judged=False)
            evidence = "\n\n".join(self.state.codes)[-CODE_EVIDENCE_CHARS:]
            self.state.evidence_code = evidence
            request = VerifyRequest(self.query, final, [], evidence,
                                    self.state.seen[-CODE_EVIDENCE_CHARS:])
        verifier, judge = self.tree.verifier, self.tree.judge
        assert verifier is not None and judge is not None
        call = self.tree.trace.start("llm", "verify answer", span, model=judge.name,
                                     purpose="verify", answer=final, citations=len(citations))
        try:
            verdict = await verifier.judge(request, self._ask_judge)
        except (BudgetExceeded, ProviderError) as exc:
            call.finish(error=str(exc))
            return Verdict("not", f"the verifier could not be asked: {exc}", judged=False)
        call.finish(verdict=verdict.to_dict())
        self.tree.emit("verify", self.depth, self.iterations, support=verdict.support,
                       reason=verdict.reason)
        return verdict

    async def _ask_judge(self, prompt: str) -> str:
        """One call to the verify model, counted in the tree's budget and this run's usage."""
        tree = self.tree
        judge = tree.judge
        assert judge is not None
        messages: list[Message] = [{"role": "user", "content": prompt}]
        reply_tokens = VERIFY_REPLY_TOKENS
        reservation = tree.budget.reserve(messages_tokens(messages) + reply_tokens,
                                          subcall=True)
        self.verify_calls += 1
        began = time.perf_counter()
        try:
            completion = await judge.complete(
                messages, CompletionOptions(temperature=0.0, max_tokens=reply_tokens))
        except BaseException:
            tree.budget.settle(reservation, None, None)
            raise
        finally:
            self.verify_s += time.perf_counter() - began
        tree.budget.settle(reservation, completion.usage, completion.cost)
        self.state.usage.add(completion.usage)
        self.verify_usage.add(completion.usage)
        return completion.text

    @cached_property
    def source(self) -> Source:
        """The context as the text citations point into (as the worker's `grep` reads it)."""
        value = self.context.value
        if self.context.encoded.kind == "json":
            value = decode_value("json", self.context.encoded.data)
        return source_of(value)

    @cached_property
    def system_prompt(self) -> str:
        if self.tree.config.system_prompt:
            return self.tree.config.system_prompt
        return SMALL_SYSTEM_PROMPT if self.small else prompts.SYSTEM_PROMPT

    @cached_property
    def prompt_text(self) -> str:
        """The system prompt and the task, to recognise a reply that copies them."""
        info = self.context.info
        return f"{self.system_prompt}\n{prompts.user_task(self.query, info)}"

    @cached_property
    def source_text(self) -> str:
        """The context as text, for checking that an answer's numbers come from it."""
        return self.context.text()

    async def _answer_now(self, run_span: Span, task: str) -> None:
        """Out of iterations (or sub-calls): one last call for the best answer, if budget allows."""
        messages: list[Message] = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": task},
        ]
        if seen := self.state.seen:
            shown = prompts.clip(seen[-ANSWER_NOW_SEEN_CHARS:], ANSWER_NOW_SEEN_CHARS)
            messages.append({"role": "user", "content": "What your code found:\n" + shown})
        messages.append({"role": "user", "content": prompts.ANSWER_NOW})
        span = self.tree.trace.start("final", "answer now", run_span, prompt=messages)
        try:
            completion = await self._root_call(messages, span)
        except (BudgetExceeded, ProviderError) as exc:
            span.finish(error=str(exc))
            return
        parsed = parse_reply(completion.text)
        text_final = find_text_final(parsed.prose)
        best = text_final.value if text_final else parsed.prose.strip()
        if best:
            self.state.partial = best
        span.finish(response=completion.text, final_answer=best)

    # --- calls ------------------------------------------------------------------------
    async def _root_call(self, messages: list[Message], span: Span) -> Completion:
        tree, cfg = self.tree, self.tree.config
        reply_tokens = cfg.root_max_tokens or DEFAULT_REPLY_TOKENS
        reservation = tree.budget.reserve(messages_tokens(messages) + reply_tokens)
        call = tree.trace.start("root_llm", "root call", span, model=tree.root.name)
        on_token = None
        if tree.on_event is not None:
            depth, it = self.depth, self.iterations

            def on_token(text: str) -> None:
                tree.emit("token", depth, it, text=text)

        options = CompletionOptions(
            temperature=cfg.temperature, max_tokens=cfg.root_max_tokens, on_token=on_token
        )
        self.state.root_calls += 1
        try:
            completion = await tree.root.complete(messages, options)
        except BaseException as exc:
            tree.budget.settle(reservation, None, None)
            call.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        tree.budget.settle(reservation, completion.usage, completion.cost)
        self.state.usage.add(completion.usage)
        call.finish(usage=completion.usage.to_dict(), cost=completion.cost,
                    finish_reason=completion.finish_reason)
        return completion

    async def _run_child(self, context: object, query: str, span: Span,
                         hint: int | None = None) -> RLMResult:
        prepared = await prepare_context_async(context)
        check_memory_limit(prepared.encoded, self.tree.config.memory_limit_mb)
        child = Run(self.tree, prepared, query, self.depth + 1, span)
        result = await child.execute()
        if result.citations:  # offsets into the user's context, not the child's slice
            result.citations = place_in_parent(result.citations, child.source, self.source,
                                               hint)
        return result

    # --- code steps -------------------------------------------------------------------
    async def _run_code(self, worker: Worker, code: str, iteration: Span, it: int) -> StepResult:
        span = self.tree.trace.start("code", "code", iteration, code=code)
        self.server.begin_step(span, it)
        step = await worker.execute(code, self.server)
        self.state.code_ran = True
        self.state.codes.append(code)
        output = step_output(step)
        self.state.saw(output)
        span.finish(
            error=step.error, stdout=prompts.clip(step.stdout, TRACE_TEXT_LIMIT),
            stderr=prompts.clip(step.stderr, TRACE_TEXT_LIMIT), locals=step.vars,
            restored=step.restored, lost_state=step.lost_state,
        )
        self.tree.emit("code", self.depth, it, code=code, output=output[:500], error=step.error)
        return step

    async def _memory_block(self) -> str:
        memory = self.tree.memory
        if memory is None or self.depth > 0:
            return ""
        hits = await asyncio.to_thread(memory.retrieve, self.query, 5)
        return prompts.clip(str(hits), 1_500)
