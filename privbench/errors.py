"""Exceptions that the CLI turns into one clear line and exit status 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: a wrong path, a malformed file, an impossible option.

    The message is a single line that names the offending file or option and the problem.
    """


class ConfigError(InputError):
    """An unknown or impossible configuration key or value."""


class DatasetError(InputError):
    """A dataset folder that is missing, incomplete or inconsistent."""


class DivergedError(InputError):
    """Training produced non-finite losses or predictions (usually an impossible setting such as a
    huge learning rate); the run stops rather than score garbage."""


def one_line(err: BaseException) -> str:
    """The error's message on one line. An error raised in a DataLoader worker reaches us re-raised by
    torch with the worker's traceback in its message; its last line is the original message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(err).__name__
    last = lines[-1]
    return last.split(": ", 1)[1] if last.split(": ", 1)[0].endswith(type(err).__name__) else last
