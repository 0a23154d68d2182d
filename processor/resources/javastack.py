"""Parse the ``JavaStackTrace`` annotation and build the public, message-free version of it.

The annotation is the text of ``Throwable.printStackTrace()``: a first line
``<exception class>: <message>`` (the message may run over several lines), the stack as
tab-indented ``at ...`` lines, then optional ``Caused by:`` / ``Suppressed:`` sections.
Exception messages routinely carry user data (URLs, file paths, account names), and so do the
messages of the chained exceptions, so the public form keeps only the exception class and the
``at`` lines of the top-level stack.

Format facts (how the message ends, which lines start the additional sections, what counts as
malformed) follow Socorro's ``libjava.parse_java_stack_trace``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The sections that follow the top-level stack; they may hold more exception messages.
ADDITIONAL_SECTION_PREFIXES = ("Caused by:", "Suppressed:")

# A class name is a (possibly qualified, possibly nested) identifier: no whitespace, no colon.
# Anything else in the class position means the text is not a stack trace, and publishing it
# could publish a message.
_CLASS_NAME_RE = re.compile(r"[^\s:]+")


class MalformedJavaStackTrace(ValueError):
    """The text does not have the shape of a Java stack trace.

    The exception's message describes the problem only; it never quotes the text.
    """


@dataclass
class JavaStackTrace:
    """The parts of a Java stack trace; only ``to_public_string`` is safe to publish."""

    exception_class: str
    exception_message: str = ""
    stack: list[str] = field(default_factory=list)
    additional: list[str] = field(default_factory=list)

    def to_public_string(self) -> str:
        """The exception class and the top-level ``at`` lines, one per line, tab-indented.

        The message and the "Caused by"/"Suppressed" sections are left out because they can
        carry user data; so is any stack line that is not a frame.
        """
        frames = [line for line in self.stack if line.startswith("at ")]
        return self.exception_class + "\n" + "\n".join(f"\t{line}" for line in frames)


def _starts_additional_section(line: str) -> bool:
    return line.strip().startswith(ADDITIONAL_SECTION_PREFIXES)


def _next_non_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def parse_java_stack_trace(text: str) -> JavaStackTrace:
    """Split a ``JavaStackTrace`` value into class, message, stack and additional sections.

    Raises ``MalformedJavaStackTrace`` when the text is empty or not a string, when the class
    position holds something that is not a class name, or when a line of the top-level stack
    is not tab-indented.
    """
    if not isinstance(text, str) or not text.strip():
        raise MalformedJavaStackTrace("no text")

    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip())
    exception_class, _, first_message_line = lines[index].partition(":")
    exception_class = exception_class.strip()
    if not _CLASS_NAME_RE.fullmatch(exception_class):
        raise MalformedJavaStackTrace("first line does not start with an exception class")
    parsed = JavaStackTrace(exception_class=exception_class)

    # The message runs until the first frame line and may span lines, blank ones included.
    index += 1
    message = [first_message_line]
    while index < len(lines) and not lines[index].startswith("\tat "):
        message.append(lines[index])
        index += 1
    parsed.exception_message = "\n".join(message).strip()

    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            continue
        if not line.startswith("\t"):
            raise MalformedJavaStackTrace("stack line is not tab-indented")
        parsed.stack.append(line[1:])
        following = _next_non_blank(lines, index)
        if following < len(lines) and _starts_additional_section(lines[following]):
            parsed.additional = [later for later in lines[following:] if later.strip()]
            break
    return parsed
