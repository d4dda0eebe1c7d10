"""Russian (and any other language's) wording of the validation messages shown on pages.

`routes.schema` and `routes.importing` speak English on purpose: the JSON API answers in
English whatever the caller's language, and its messages are part of its contract. The pages
show the same messages beside a field or in the import's table of problems, and there they
should be in the page's language. So the English text stays the key and is translated only
where a page shows it, by `translate_schema_message`:

* a fixed message (ours, or one of pydantic's with the concrete limits of our fields) is looked
  up with `gettext`; the list below is marked with `gettext_noop` so that `makemessages`
  collects every one into the catalogue;
* a message with variable parts (an ID, a time, a count, a file name) is matched by one of the
  patterns and rebuilt from a translated template with `%(name)s` placeholders;
* anything else (a new message nobody translated yet) is shown as it is, in English.

When a message in routes/schema.py or routes/importing.py changes, change it here too, run
`manage.py makemessages -l ru`, translate and `compilemessages`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext, gettext_noop, ngettext, pgettext

FIXED_MESSAGES = frozenset(
    (
        # routes.schema's own checks
        gettext_noop('must be a time "HH:MM" between 00:00 and 23:59'),
        gettext_noop("must be a number"),
        gettext_noop("must be a finite number (not NaN or Infinity)"),
        gettext_noop("must be one of high, medium, low, A, B, C, D"),
        gettext_noop('must be {"lat": ..., "lon": ...} or the ID of one of the locations'),
        gettext_noop("must be a non-empty string"),
        gettext_noop("must be a JSON object"),
        gettext_noop("this field is required"),
        gettext_noop("unknown field"),
        # pydantic's, with the limits of routes.schema's fields
        gettext_noop("Input should be less than or equal to 90"),
        gettext_noop("Input should be greater than or equal to -90"),
        gettext_noop("Input should be less than or equal to 180"),
        gettext_noop("Input should be greater than or equal to -180"),
        gettext_noop("Input should be greater than or equal to 0"),
        gettext_noop("Input should be less than or equal to 600"),
        gettext_noop("Input should be greater than 0"),
        gettext_noop("Input should be less than or equal to 200"),
        gettext_noop("Input should be greater than or equal to 1"),
        gettext_noop("Input should be less than or equal to 5"),
        gettext_noop("Input should be less than or equal to 10000"),
        gettext_noop("String should have at most 100 characters"),
        gettext_noop("String should have at most 300 characters"),
        gettext_noop("String should have at most 500 characters"),
        gettext_noop("Input should be a valid string"),
        gettext_noop("Input should be a valid number"),
        gettext_noop("Input should be a valid number, unable to parse string as a number"),
        gettext_noop("Input should be a valid boolean, unable to interpret input"),
        gettext_noop("Input should be a valid dictionary or instance of Location"),
        gettext_noop("Input should be a valid list"),
        gettext_noop("List should have at least 1 item after validation, not 0"),
        # routes.importing's about the file as a whole
        gettext_noop("the file has no locations"),
        gettext_noop("a JSON file must be UTF-8"),
        gettext_noop('expected a list of locations or an object with a "locations" list'),
        gettext_noop("not a readable XLSX file"),
        gettext_noop("old Excel .xls files cannot be read: save the sheet as .xlsx or CSV"),
    )
)

_SIZE = re.compile(r"\b(\d+(?:\.\d+)?) (MB|KB)\b")


def _size(text: str) -> str:
    """ "1.5 MB" → "1.5 МБ" (routes.importing's sizes)."""

    def unit(match: re.Match[str]) -> str:
        name = pgettext("file size", "MB") if match[2] == "MB" else pgettext("file size", "KB")
        return f"{match[1]} {name}"

    return _SIZE.sub(unit, text)


def _count(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _columns_missing(m: re.Match[str]) -> str:
    found = m["found"]
    if found == "none":
        found = pgettext("columns found", "none")
    return ngettext(
        "no %(columns)s column (columns found: %(found)s)",
        "no %(columns)s columns (columns found: %(found)s)",
        len(m["columns"].split(", ")),
    ) % {"columns": m["columns"], "found": found}


#: (pattern of the English message, its translation from the match); first match wins.
PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    # routes.schema: checks across fields
    (
        re.compile(r"^window ends \((?P<end>.*)\) before it starts \((?P<start>.*)\)$"),
        lambda m: gettext("window ends (%(end)s) before it starts (%(start)s)") % m.groupdict(),
    ),
    (
        re.compile(r"^duplicate ID (?P<id>.+)$", re.S),
        lambda m: gettext("duplicate ID %(id)s") % m.groupdict(),
    ),
    (
        re.compile(r"^the day must end after it starts \((?P<start>.*)\)$"),
        lambda m: gettext("the day must end after it starts (%(start)s)") % m.groupdict(),
    ),
    (
        re.compile(r"^no location has ID (?P<id>.+)$", re.S),
        lambda m: gettext("no location has ID %(id)s") % m.groupdict(),
    ),
    (
        re.compile(r"^at most (?P<max>\d+) locations per request, got (?P<n>\d+)$"),
        lambda m: (
            ngettext(
                "at most %(max)s location per request, got %(n)s",
                "at most %(max)s locations per request, got %(n)s",
                _count(m["max"]),
            )
            % m.groupdict()
        ),
    ),
    # pydantic's, for a limit not in FIXED_MESSAGES (a field added later)
    (
        re.compile(
            r"^Value should have at most (?P<max>\d+) items after validation, not (?P<n>\d+)$"
        ),
        lambda m: (
            ngettext(
                "must have at most %(max)s character, not %(n)s",
                "must have at most %(max)s characters, not %(n)s",
                _count(m["max"]),
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(r"^String should have at most (?P<max>\d+) characters?$"),
        lambda m: (
            ngettext(
                "String should have at most %(max)s character",
                "String should have at most %(max)s characters",
                _count(m["max"]),
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(r"^Input should be less than or equal to (?P<limit>\S+)$"),
        lambda m: gettext("Input should be less than or equal to %(limit)s") % m.groupdict(),
    ),
    (
        re.compile(r"^Input should be greater than or equal to (?P<limit>\S+)$"),
        lambda m: gettext("Input should be greater than or equal to %(limit)s") % m.groupdict(),
    ),
    (
        re.compile(r"^Input should be greater than (?P<limit>\S+)$"),
        lambda m: gettext("Input should be greater than %(limit)s") % m.groupdict(),
    ),
    (
        re.compile(r"^Input should be less than (?P<limit>\S+)$"),
        lambda m: gettext("Input should be less than %(limit)s") % m.groupdict(),
    ),
    # routes.importing: the file as a whole
    (
        re.compile(r"^the file is (?P<size>.+); at most (?P<max>.+)$"),
        lambda m: (
            gettext("the file is %(size)s; at most %(max)s")
            % {"size": _size(m["size"]), "max": _size(m["max"])}
        ),
    ),
    (
        re.compile(
            r"^the file has more than (?P<max>\d+) rows; "
            r"at most (?P=max) locations can be imported at once$"
        ),
        lambda m: (
            ngettext(
                "the file has more than %(max)s row; at most %(max)s location can be imported at once",
                "the file has more than %(max)s rows; "
                "at most %(max)s locations can be imported at once",
                _count(m["max"]),
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(r"^the workbook unpacks to (?P<size>.+); too big to read$"),
        lambda m: (
            gettext("the workbook unpacks to %(size)s; too big to read")
            % {"size": _size(m["size"])}
        ),
    ),
    (
        re.compile(r"^not a readable CSV file: (?P<error>.*)$", re.S),
        lambda m: gettext("not a readable CSV file: %(error)s") % m.groupdict(),
    ),
    (
        re.compile(r"^not valid JSON: (?P<error>.*)$", re.S),
        lambda m: gettext("not valid JSON: %(error)s") % m.groupdict(),
    ),
    (
        re.compile(r"^(?P<name>.+) is not a CSV, JSON or XLSX file$", re.S),
        lambda m: gettext("%(name)s is not a CSV, JSON or XLSX file") % m.groupdict(),
    ),
    (
        re.compile(r"^no (?P<columns>.+?) columns? \(columns found: (?P<found>.*)\)$", re.S),
        _columns_missing,
    ),
]


def translate_schema_message(message: str) -> str:
    """`message` (English, from routes.schema or routes.importing) in the active language."""
    if message in FIXED_MESSAGES:
        return gettext(message)
    for pattern, translate in PATTERNS:
        match = pattern.match(message)
        if match:
            return translate(match)
    return message


# ---------- the route engine's reasons ----------
#
# An attempt's reason (why a model's route was not used) is free text from llm/: English, kept
# as it is in the database and the API. The pages translate the fixed phrases below where they
# show it; a reason not listed here (an error from llama.cpp, a server's answer) stays English.
# When a phrase in llm/ changes, change it here too.

ENGINE_FIXED = frozenset(
    (
        gettext_noop("remote slot has no endpoint URL"),
        gettext_noop("llama-cpp-python is not installed: pip install llama-cpp-python"),
        gettext_noop("it was not loaded"),
        gettext_noop("a remote slot runs on its server, not here"),
    )
)

#: A number, or "…" where the models page groups reasons with their numbers blanked.
_N = r"(?:\d+|…)"

ENGINE_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(
            r"^GGUF model file not found: (?P<file>.+?) \(looked in: (?P<places>.*)\)$", re.S
        ),
        lambda m: (
            gettext("GGUF model file not found: %(file)s (looked in: %(places)s)") % m.groupdict()
        ),
    ),
    (
        re.compile(r"^model file not found: (?P<path>.+)$", re.S),
        lambda m: gettext("model file not found: %(path)s") % m.groupdict(),
    ),
    (
        re.compile(rf"^(?P<n>{_N}) violations against the algorithm's (?P<theirs>{_N})$"),
        lambda m: (
            ngettext(
                "%(n)s violation against the algorithm's %(theirs)s",
                "%(n)s violations against the algorithm's %(theirs)s",
                _count(m["n"]),
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(
            r"^drops more important stops \(per priority A–D: (?P<ours>.+) "
            r"against the algorithm's (?P<theirs>.+)\)$"
        ),
        lambda m: (
            gettext(
                "drops more important stops (per priority A–D: %(ours)s against the "
                "algorithm's %(theirs)s)"
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(
            rf"^travel (?P<minutes>{_N}) min is over (?P<share>{_N}%) more than the "
            rf"algorithm's (?P<theirs>{_N}) min$"
        ),
        lambda m: (
            gettext(
                "travel %(minutes)s min is over %(share)s more than the algorithm's %(theirs)s min"
            )
            % m.groupdict()
        ),
    ),
    (
        re.compile(r"^unusable answer: (?P<error>.*)$", re.S),
        lambda m: gettext("unusable answer: %(error)s") % m.groupdict(),
    ),
    (
        re.compile(
            r"^timed out after (?P<seconds>\S+) s waiting for (?P<name>.+) to be free "
            r"\(0 tokens generated\)$"
        ),
        lambda m: (
            gettext(
                "timed out after %(seconds)s s waiting for %(name)s to be free (0 tokens generated)"
            )
            % m.groupdict()
        ),
    ),
]


def translate_engine_reason(reason: str) -> str:
    """An attempt's `reason` (English, from llm/) in the active language where it is one of
    the engine's fixed phrases; anything else as it is."""
    if reason in ENGINE_FIXED:
        return gettext(reason)
    for pattern, translate in ENGINE_PATTERNS:
        match = pattern.match(reason)
        if match:
            return translate(match)
    return reason
