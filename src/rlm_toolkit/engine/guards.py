"""Checks on a final answer and a reply that catch the usual failures of small models:
a number that was never read from the data, and a reply that copies the prompt back.

Each check is a pure function returning the feedback to send, or None when all is well.
(Assigning to `context` is undone by the REPL itself, which restores protected names.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
#: Numbers this short are too common to prove anything (list indexes, "top 3").
MIN_DIGITS = 2
#: A reply line this long, found verbatim in the prompt, counts as copied.
COPY_LINE_CHARS = 40


def numbers(text: str) -> list[str]:
    """The numbers written in `text`, thousands separators removed, at least MIN_DIGITS long."""
    found = (m.group(0).replace(",", "").rstrip(".") for m in _NUMBER.finditer(text))
    return [n for n in found if sum(c.isdigit() for c in n) >= MIN_DIGITS]


def unsupported_numbers(answer: str, code: str, seen: Iterable[str], source: str) -> list[str]:
    """Numbers in `answer` that the model typed itself and never saw.

    A number counts as seen when it occurs in the source data or in any output the model was
    shown. A number that comes from code (absent from the code the model wrote) was computed,
    so it counts as supported too: only guessed literals are caught.
    """
    seen_text = "\n".join(seen)
    flat_code = code.replace(",", "").replace("_", "")
    guessed = []
    for number in numbers(answer):
        if code and number not in flat_code:
            continue  # computed by the code, not typed by the model
        if _occurs(number, source) or _occurs(number, seen_text):
            continue
        guessed.append(number)
    return guessed


def _occurs(number: str, text: str) -> bool:
    if number in text:
        return True
    if len(number) > 3 and number.isdigit():  # 12345 may be written 12,345
        grouped = f"{int(number):,}"
        return grouped in text
    return False


def copies_prompt(reply: str, prompt: str) -> bool:
    """True when most of the reply's long lines are copied verbatim from the prompt."""
    lines = [ln.strip() for ln in reply.splitlines() if len(ln.strip()) >= COPY_LINE_CHARS]
    if not lines:
        return False
    copied = sum(1 for ln in lines if ln in prompt)
    return copied * 2 >= len(lines) and copied >= 2


GUESSED_NUMBER = (
    "Your answer contains {numbers}, which appear{s} in no output you have seen and not in "
    "the data. Do not guess: print the evidence with code (grep or a slice of `context`), "
    "then answer with what the output shows. If the data does not contain the answer, "
    "answer FINAL(NOT_FOUND)."
)
COPIED_PROMPT = (
    "You repeated the instructions instead of working. Write one short ```repl block that "
    "looks at `context`, for example: print(grep(r\"keyword\")[:5])"
)


REPEATED_CODE = (
    "You already ran exactly this code and saw its output above; running it again changes "
    "nothing. Try something different: a shorter or singular search word, another pattern, "
    "or print a slice such as context[:1500]."
)


def code_key(code: str) -> str:
    """Code with blank lines and trailing spaces dropped, to recognise a repeated block."""
    return "\n".join(ln.rstrip() for ln in code.strip().splitlines() if ln.strip())


def guessed_number_feedback(guessed: list[str]) -> str:
    """The message for an answer with guessed numbers."""
    shown = ", ".join(guessed[:5])
    return GUESSED_NUMBER.format(numbers=shown, s="" if len(guessed) > 1 else "s")


# --- answers that cannot be right: the worked example's, names never seen, a middle hop ---

_NAME = re.compile(r"\b[A-Z][a-zA-Z'-]{2,}\b")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "none", "no ")
_PLACE_WORDS = ("town", "city", "village", "country", "region", "province", "county", "state",
                "island", "district", "place")
_HOW_MANY = re.compile(r"\b(how many|how much|number of|count of|how often)\b", re.IGNORECASE)
_WHAT_NUMBER = re.compile(r"\b(?:what|which) (?:is|was|are|were) (?:the|its|their|his|her) "
                          r"(?:[\w-]+ ){0,4}(?:number|amount|total|count|year)\b"
                          r"|\banswer with (?:the|a) number\b", re.IGNORECASE)
_WHICH_PLACE = re.compile(r"\b(?:which|what|in which|in what)\s+(" + "|".join(_PLACE_WORDS)
                          + r")\b", re.IGNORECASE)
_LINKS = re.compile(r"^[^.;\n]{0,20}?\b(lies|is|are|was|sits|stands|located|found|belongs?|"
                    r"moved|kept)\b[^.;\n]{0,40}?\b(in|within|to|at|of)\b", re.IGNORECASE)
#: Answers longer than this many words are prose, not a name to check.
SHORT_ANSWER_WORDS = 6
#: Occurrences of an answer looked at in the data.
MAX_OCCURRENCES = 50


def answer_kind(query: str) -> tuple[str, str] | None:
    """What the question asks for: ("number", "") for a count, ("number", "lookup") for a
    number to read ("what is the magic number ..."), ("place", "town"), or None if unclear."""
    if _HOW_MANY.search(query):
        return "number", ""
    if _WHAT_NUMBER.search(query):
        return "number", "lookup"
    m = _WHICH_PLACE.search(query)
    if m is not None:
        return "place", m.group(1).lower()
    return None


def _bare(answer: str) -> str:
    text = answer.strip().strip(".\"'` ")
    return re.sub(r"^(the|a|an)\s+", "", text, flags=re.IGNORECASE)


def repeats_example(answer: str, examples: Iterable[str]) -> bool:
    """True when the answer is (or holds as a whole word) a worked example's literal value."""
    bare = _bare(answer).lower()
    for value in examples:
        low = value.lower()
        if bare == low or re.search(rf"\b{re.escape(low)}\b", bare):
            return True
    return False


def unseen_names(answer: str, seen: Iterable[str], source: str) -> list[str]:
    """Capitalised names in a short answer that occur in no output, the question or the data."""
    if len(answer.split()) > SHORT_ANSWER_WORDS:
        return []
    seen_text = "\n".join(seen).lower()
    low_source = source.lower()
    return [name for name in _NAME.findall(answer)
            if name.lower() not in seen_text and name.lower() not in low_source]


def next_hop(query: str, answer: str, source: str, *, again: bool = False) -> str | None:
    """Feedback when the answer is not of the kind asked: no number for "how many", or a
    name that the data itself places in a town/city/... (an intermediate entity). None if fine.
    `again` (a second middle-hop answer) also quotes the sentence that places it.
    """
    kind = answer_kind(query)
    bare = _bare(answer)
    if kind is None or not bare:
        return None
    if kind[0] == "number":
        low = bare.lower()
        if any(c.isdigit() for c in low) or any(low.startswith(w) for w in _NUMBER_WORDS):
            return None
        message = WRONG_KIND_LOOKUP if kind[1] == "lookup" else WRONG_KIND_NUMBER
        return message.format(answer=bare[:80])
    if len(bare) > 60:
        return None
    low_source, target = source.lower(), bare.lower()
    pos, looked = low_source.find(target), 0
    while pos != -1 and looked < MAX_OCCURRENCES:
        after = low_source[pos + len(target): pos + len(target) + 80]
        if _LINKS.search(after) and re.search(rf"\b{kind[1]}\b", after):
            told = NEXT_HOP.format(answer=bare[:80], kind=kind[1], pattern=_pattern(bare))
            if again:
                start = max(low_source.rfind(c, 0, pos) for c in _SENTENCE_STOP) + 1
                ends = [e for e in (low_source.find(c, pos + len(target))
                                    for c in _SENTENCE_STOP) if e != -1]
                sentence = source[start:min(ends) if ends else len(source)].strip()
                told += f" The data says: {sentence[:200]!r}."
            return told
        pos, looked = low_source.find(target, pos + 1), looked + 1
    return None


WRONG_KIND_NUMBER = (
    "The question asks for a number, but your answer {answer!r} is not one. Count with code "
    "(for example len(find_items()) or classify(items, labels).count(label)) and answer with "
    "the number."
)
WRONG_KIND_LOOKUP = (
    "The question asks for a number, but your answer {answer!r} is not one. Print the whole "
    "line that holds it, e.g. print(grep(r\"words of the question\")), and answer with the "
    "number it shows."
)
NEXT_HOP = (
    "Your answer {answer!r} is not a {kind}: the text says where {answer!r} is. Search for it "
    "next, e.g. print(grep(r\"{pattern}\")), and answer with the {kind} that line names."
)
EXAMPLE_ANSWER = (
    "Your answer repeats the worked example of the instructions, not the data. Search the "
    "text for the question's own words and answer with what the output shows."
)
UNSEEN_NAME = (
    "Your answer names {names}, which appear{s} in no output you have seen and not in the "
    "data. Do not guess: print the line that holds the answer, then answer with what it shows. "
    "If the data does not say, answer FINAL(NOT_FOUND)."
)


def unseen_name_feedback(names: list[str]) -> str:
    """The message for an answer with names the model never saw."""
    return UNSEEN_NAME.format(names=", ".join(names[:5]), s="" if len(names) > 1 else "s")


# --- a question about something the data never mentions -----------------------------------

_TERM = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
#: Words of a question that say how to answer, or name the input itself ("the provided
#: text"), not what it is about: never a missing subject.
_NOT_SUBJECT_WORDS = """
what which where when whom whose why how many much does did done have has had been being
were with from into onto about above below after before under over than then only just
also there their them they this that these those your yours answer answers question name
names number numbers give tell find list text data context document documents according
mentioned mention say says said word words exactly please today currently kept keep held
called named known most least more less same each every some other total count whole
single short long first last given written stated line lines shown show value values
provided following passage story article book novel file input excerpt paragraph chapter
section page sentence among between within common frequent frequency often
"""
_NOT_SUBJECT = frozenset(_NOT_SUBJECT_WORDS.split()) | frozenset(_PLACE_WORDS)


def absent_terms(query: str, source: str) -> list[str]:
    """Words of the question (its subject) that occur nowhere in the data, any case.

    Function words, question words and the kind of answer asked ("town", "number") never
    count; a word is found when the data has it at the start of a word (plurals match).
    """
    low = source.lower()
    missing: list[str] = []
    for word in dict.fromkeys(w.lower().removesuffix("'s").rstrip("'-")
                              for w in _TERM.findall(query)):
        stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
        if len(stem) < 4 or word in _NOT_SUBJECT or stem in _NOT_SUBJECT:
            continue
        if re.search(rf"(?<![a-z]){re.escape(stem)}", low) is None:
            missing.append(word)
    return missing


ABSENT_TERMS = (
    "The question asks about {terms}, but the data never mentions {them} (the host searched "
    "all of it). Your answer {answer!r} comes from a line about something else. If the data "
    "does not say, answer FINAL(NOT_FOUND); if it does, print the line that answers this very "
    "question and answer from it."
)


def absent_terms_feedback(terms: list[str], answer: str) -> str:
    """The message for an answer to a question whose subject the data never mentions."""
    shown = ", ".join(repr(t) for t in terms[:3])
    return ABSENT_TERMS.format(terms=shown, them="it" if len(terms) == 1 else "them",
                               answer=_bare(answer)[:80])


# --- a multi-hop answer that nothing in the data links to the question's subject ----------

_PROPER = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of|de|du|von|van|the)?\s*[A-Z][\w'-]*)*")
_NOT_NAMES = frozenset(("in", "what", "which", "who", "whom", "whose", "where", "when", "why",
                        "how", "answer", "the", "a", "an", "is", "was", "mr", "mrs", "ms", "dr",
                        "it", "its", "on", "at", "of", "to", "for", "by", "from", "with"))
_SENTENCE_STOP = ".!?\n"
#: How many sentences holding the answer (or the subject) are looked at.
MAX_SENTENCES = 40


def proper_names(text: str) -> list[str]:
    """Capitalised names in `text` ("Amber Hourglass"), without leading articles, titles or
    question words, possessives dropped."""
    names: list[str] = []
    for raw in _PROPER.findall(text):
        words = raw.split()
        while words and words[0].lower().rstrip(".") in _NOT_NAMES:
            words = words[1:]
        name = " ".join(words).removesuffix("'s").strip()
        if len(name) >= 3 and name.lower() not in _NOT_NAMES:
            names.append(name)
    return list(dict.fromkeys(names))


def sentences_with(needle: str, source: str, low_source: str | None = None) -> list[str]:
    """The sentences of `source` holding `needle` (any case), at most MAX_SENTENCES."""
    low = source.lower() if low_source is None else low_source
    target, at = needle.lower(), 0
    found: list[str] = []
    while len(found) < MAX_SENTENCES and (at := low.find(target, at)) != -1:
        start = max(low.rfind(c, 0, at) for c in _SENTENCE_STOP) + 1
        ends = [e for e in (low.find(c, at + len(target)) for c in _SENTENCE_STOP) if e != -1]
        end = min(ends) if ends else len(low)
        found.append(source[start:end].strip())
        at = end
    return found


def unlinked_answer(query: str, answer: str, source: str, *, again: bool = False) -> str | None:
    """Feedback when a short answer sits only in sentences that neither name the question's
    subject nor name anything the data puts in a sentence with that subject; else None.

    It names the next hop (a name in the subject's sentence); `again` (the model answered
    the same way after that) also shows the data's other sentences about that name.
    """
    subjects = [n for n in proper_names(query) if n.lower() not in answer.lower()]
    bare = _bare(answer)
    if not subjects or not bare or len(bare.split()) > SHORT_ANSWER_WORDS:
        return None
    kind = answer_kind(query)
    if _NUMBER.fullmatch(bare) or (kind is not None and kind[0] == "number"):
        return None  # a count or a read number: the guessed-number guard speaks to those
    low = source.lower()
    held = sentences_with(bare, source, low)
    if not held or any(s.lower() in h.lower() for h in held for s in subjects):
        return None
    subject_sentences = [h for s in subjects for h in sentences_with(s, source, low)]
    beside_subject = " ".join(subject_sentences).lower()
    if not beside_subject:
        return None  # the subject is nowhere: the absent-subject check speaks to that
    others = [n for h in held for n in proper_names(h) if n.lower() != bare.lower()]
    if any(n.lower() in beside_subject for n in others):
        return None  # a second hop: the answer's sentence names what the subject's names
    about = others[0] if others else "something else"
    told = UNLINKED.format(answer=bare[:80], about=about, subject=subjects[0],
                           sentence=held[0][:200])
    linked = [(h, n) for h in subject_sentences for n in proper_names(h)
              if all(n.lower() not in s.lower() and s.lower() not in n.lower() for s in subjects)]
    if not linked:
        return told + UNLINKED_FIND.format(subject=subjects[0], pattern=_pattern(subjects[0]))
    sentence, name = linked[0]
    told += UNLINKED_NEXT.format(subject=subjects[0], sentence=sentence[:200], name=name,
                                 pattern=_pattern(name))
    if again:
        about_name = [h for h in sentences_with(name, source, low) if h not in subject_sentences]
        if about_name:
            shown = " ".join(repr(h[:200]) for h in about_name[:3])
            told += UNLINKED_SHOWN.format(name=name, sentences=shown)
    return told


def _pattern(name: str) -> str:
    """A name as a grep regex a model can read (spaces left as they are)."""
    return re.escape(name).replace("\\ ", " ")


UNLINKED = (
    "Your answer {answer!r} comes from a sentence about {about}, and nothing in the data links "
    "{about} to {subject}: {sentence!r}."
)
UNLINKED_FIND = (
    " Find {subject} first: print(grep(r\"{pattern}\")), then search for what that line "
    "names and answer from there."
)
UNLINKED_SHOWN = " The data's other sentences about {name}: {sentences}"
UNLINKED_NEXT = (
    " What the data says of {subject} is: {sentence!r}. Search for {name} next: "
    "print(grep(r\"{pattern}\")), and answer from the line that names it."
)


# --- a multi-hop question answered with its own subject, or NOT_FOUND while the data has it --

def subject_lead(query: str, source: str) -> tuple[str, str, str | None] | None:
    """(subject, its first sentence in the data, a name that sentence gives next or None)
    for the first capitalised subject of `query` that the data mentions; None if it has none."""
    low = source.lower()
    for subject in proper_names(query):
        sentences = sentences_with(subject, source, low)
        if not sentences:
            continue
        for sentence in sentences:
            others = [n for n in proper_names(sentence)
                      if subject.lower() not in n.lower() and n.lower() not in subject.lower()]
            if others:
                return subject, sentence, others[0]
        return subject, sentences[0], None
    return None


def echoed_subject(query: str, answer: str, source: str) -> str | None:
    """Feedback when a short answer is the question's own subject ("In which city is the
    Silver Lantern kept?" -> "Silver Lantern"); None otherwise."""
    bare = _bare(answer).lower()
    if not bare or all(bare != name.lower() for name in proper_names(query)):
        return None
    lead = subject_lead(query, source)
    if lead is None or lead[0].lower() != bare:
        return ECHOED.format(answer=_bare(answer)[:80], next="")
    return ECHOED.format(answer=_bare(answer)[:80], next=_next_step(*lead, source))


def unheeded_subject(query: str, source: str) -> str | None:
    """Feedback when NOT_FOUND answers a question whose subject (a capitalised name) and
    every other word the data does mention; None when some of it is missing."""
    if absent_terms(query, source):
        return None
    lead = subject_lead(query, source)
    if lead is None:
        return None
    return UNHEEDED.format(subject=lead[0], next=_next_step(*lead, source))


def _next_step(subject: str, sentence: str, name: str | None, source: str) -> str:
    """The subject's sentence, the next name to search for and what the data says of it."""
    told = f" The data says of {subject}: {sentence[:200]!r}."
    if name is None:
        return told
    told += (f" Search for {name} next: print(grep(r\"{_pattern(name)}\")), and answer from "
             "the line that names it.")
    about = [h for h in sentences_with(name, source) if h != sentence]
    if about:
        told += UNLINKED_SHOWN.format(name=name, sentences=" ".join(repr(h[:200])
                                                                    for h in about[:3]))
    return told


ECHOED = (
    "Your answer {answer!r} is what the question asks about, not its answer.{next}"
)
UNHEEDED = (
    "The data does mention {subject}, so NOT_FOUND may be wrong.{next} Answer NOT_FOUND only "
    "if those lines do not answer the question."
)


# --- a number read from the line about another key ------------------------------------------

_KEY = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", re.IGNORECASE)


def off_subject_value(query: str, answer: str, source: str) -> str | None:
    """Feedback when a number asked for by key ("the magic number for windy-falcon") was read
    from sentences that never name that key, while the data does name it; else None."""
    if answer_kind(query) != ("number", "lookup"):
        return None
    bare = _bare(answer)
    keys = [k for k in dict.fromkeys(_KEY.findall(query) + proper_names(query))
            if k.lower() not in bare.lower()]
    if not keys or not bare or len(bare.split()) > SHORT_ANSWER_WORDS:
        return None
    low = source.lower()
    held = sentences_with(bare, source, low)
    if not held or any(k.lower() in h.lower() for h in held for k in keys):
        return None
    for key in keys:
        about = sentences_with(key, source, low)
        if about:
            return OFF_SUBJECT.format(answer=bare[:80], key=key, sentence=held[0][:200],
                                      pattern=_pattern(key), about=about[0][:200])
    return None


OFF_SUBJECT = (
    "Your answer {answer!r} comes from a sentence that does not name {key!r}: {sentence!r}. "
    "The question asks about {key!r}; the data says: {about!r}. Check it with "
    "print(grep(r\"{pattern}\")) and answer from that line."
)
