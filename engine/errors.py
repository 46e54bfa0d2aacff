"""Errors the engine raises to its callers; each carries a plain message for the user."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: a request the engine refused. Nothing was changed."""

    status = 400


class NotFound(EngineError):
    status = 404


class Forbidden(EngineError):
    status = 403


class Conflict(EngineError):
    """Someone else changed the case first, or the task is no longer ready."""

    status = 409


class Unavailable(Exception):
    """The database could not be reached, or dropped the connection: nothing was changed.

    Not an `EngineError`: the request was not refused, it could not be tried. Callers answer
    503 (web), exit with EX_TEMPFAIL (CLI) or back off and reconnect (worker)."""

    status = 503

    def __init__(self, detail: str = "") -> None:
        super().__init__("Basis data tidak dapat dihubungi; coba lagi beberapa saat lagi")
        self.detail = detail


class ValidationFailed(EngineError):
    """Submitted values broke the form's constraints or a handler's rules."""

    status = 422

    def __init__(self, errors: dict[str, str], message: str = "Isian tidak valid") -> None:
        super().__init__(message)
        self.errors = errors


class DeploymentRejected(EngineError):
    """A deployment failed its checks; `problems` lists `file: element-id: message`."""

    status = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__("deployment refused:\n" + "\n".join(problems))
        self.problems = problems


# Operators reassign business tasks; they never claim, complete, attach to or draft them.
MSG_OPERATOR_WORK = (
    "Operator dan administrator tidak mengerjakan tugas bisnis; alihkan tugas ini kepada petugasnya"
)
