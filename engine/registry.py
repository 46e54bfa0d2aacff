"""Handlers: plain functions bound in the diagram by name.

Service tasks are bound by `camunda:topic` (with `camunda:type="external"`); user tasks by the
`handler` entry of their `camunda:properties`. A handler receives a `HandlerContext` and returns
the variables to set. It never sees the database session or SpiffWorkflow: what it may do
beyond returning variables (notify a group, read a lookup list, compute working days) goes
through the context, and the engine writes it in the same transaction as the step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from .access import AccessPolicy
from .errors import ValidationFailed

__all__ = [
    "HandlerContext",
    "HandlerRegistry",
    "LetterInfo",
    "Notification",
    "RegionInfo",
    "ValidationFailed",
]


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    level: str  # one of the handler package's `AccessPolicy.region_levels`
    timezone: str  # IANA name: Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)


@dataclass(frozen=True)
class Notification:
    recipient_group: str  # comma-separated groups; a regional group means its members in the case's region
    subject: str
    body: str = ""
    users: tuple[str, ...] = ()  # named users, besides (or instead of) the groups


class Calendar(Protocol):
    def add_working_days(self, start: date, n: int) -> date: ...
    def working_days_between(self, start: date, end: date) -> int: ...
    def is_working_day(self, day: date) -> bool: ...


@dataclass
class HandlerContext:
    """What a handler may see and do. `variables` already include a user task's submitted values."""

    variables: Mapping[str, Any]
    instance_id: int
    business_key: str | None
    region: RegionInfo | None
    now: datetime  # the engine clock, UTC
    today: date  # in the region's time zone
    calendar: Calendar  # the region's working-day calendar
    task_id: str
    bpmn_id: str
    task_name: str
    stage: int | None
    user: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)  # the element's camunda:properties
    lookups: Callable[[str], dict[str, str]] = lambda name: {}
    notifications: list[Notification] = field(default_factory=list)
    # The same on every run of this task (a retry, a re-run after a commit that failed): key an
    # external side effect on it (a request id, a unique column) so it happens once.
    idempotency_key: str = ""

    def notify(self, recipient_group: str, subject: str, body: str = "") -> None:
        """Queue a message to a candidate group of the case's region, via the outbox."""
        self.notifications.append(Notification(recipient_group, subject, body))

    def notify_users(self, usernames: list[str] | tuple[str, ...], subject: str, body: str = "") -> None:
        """Queue a message to named users, via the outbox."""
        self.notifications.append(Notification("", subject, body, tuple(usernames)))


ServiceHandler = Callable[[HandlerContext], Mapping[str, Any] | None]
UserTaskHandler = Callable[[HandlerContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class HandlerInfo:
    name: str
    kind: str  # "service" | "user"
    function: Callable[[HandlerContext], Mapping[str, Any] | None]
    label: str
    description: str
    # camunda:properties the element must carry for this handler: name -> label (for element templates)
    properties: Mapping[str, str] = field(default_factory=dict)
    # Output variables that depend on the working-day calendar (name -> label on the case page,
    # "" for none) and how to compute them again when a decree changes it (`HandlerRegistry.service`).
    calendar_derived: Mapping[str, str] = field(default_factory=dict)
    recompute: Callable[[HandlerContext], Mapping[str, Any]] | None = None
    # The variables the handler returns (for the deploy check's warning about conditions that
    # read a variable nothing sets).
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class LetterInfo:
    """A letter drafted from a case's data: offered on every task whose form has the file field
    `field` (the document the letter is a draft of), rendered from `template` (a .docx with
    docxtpl's `{{ name }}` tags) with the values its function returns."""

    key: str
    label: str
    field: str
    template: str
    fills_field: bool  # the draft may stand as the field's document (a plan), or must be signed first
    function: Callable[[HandlerContext], Mapping[str, Any]]


class HandlerRegistry:
    """Service handlers by topic, user-task handlers by name, letters by the field they draft;
    the source of element templates.

    `name` names the element templates (`<name>.json`, ids `<name>.topic.<topic>`); `access` is
    the deployment's groups and what each may do (`engine.access.AccessPolicy`), which the
    handler package sets: the engine knows no group by name. `letter_templates` is the folder of
    the default letter templates (an operator's folder, `KSDPL_LETTER_TEMPLATES`, is looked in first)."""

    def __init__(
        self,
        name: str = "handlers",
        letter_templates: Path | None = None,
        *,
        title: str | None = None,
        mail_footer: str = "Pesan otomatis; mohon tidak dibalas.",
    ) -> None:
        self.name = name
        self.title = title or name  # the product's name in mail subjects and footers
        self.mail_footer = mail_footer
        self.access = AccessPolicy()
        self._service: dict[str, HandlerInfo] = {}
        self._user: dict[str, HandlerInfo] = {}
        self._letters: dict[str, LetterInfo] = {}
        self.lookup_defaults: dict[str, dict[str, str]] = {}
        self.letter_templates = letter_templates

    def letter(self, key: str, label: str, field: str, template: str, fills_field: bool = True) -> Callable:
        """Register a letter: `@registry.letter("rancangan-loi", "Rancangan LoI", "dokumen_rancangan_loi",
        "rancangan-loi.docx")` on a function returning the template's values."""

        def register(fn: Callable[[HandlerContext], Mapping[str, Any]]):
            if key in self._letters:
                raise ValueError(f"letter {key!r} registered twice")
            self._letters[key] = LetterInfo(key, label, field, template, fills_field, fn)
            return fn

        return register

    def letter_info(self, key: str) -> LetterInfo | None:
        return self._letters.get(key)

    def letters_for(self, field_ids: Iterable[str]) -> list[LetterInfo]:
        """The letters a form with these fields offers, in registration order."""
        wanted = set(field_ids)
        return [letter for letter in self._letters.values() if letter.field in wanted]

    @property
    def letters(self) -> list[LetterInfo]:
        return list(self._letters.values())

    def lookup_list(self, name: str, defaults: Mapping[str, str]) -> str:
        """Declare an operator-edited list the handlers read (`ctx.lookups(name)`), with the
        values `init-db` puts in it while it is still empty."""
        self.lookup_defaults[name] = dict(defaults)
        return name

    def service(
        self,
        topic: str,
        label: str = "",
        description: str = "",
        properties: Mapping[str, str] | None = None,
        *,
        calendar_derived: Mapping[str, str] | None = None,
        recompute: Callable[[HandlerContext], Mapping[str, Any]] | None = None,
        outputs: tuple[str, ...] | list[str] = (),
    ) -> Callable:
        """Register a service-task handler: `@registry.service("topic.name")`.

        `properties` names the `camunda:properties` the handler reads from its element
        (`ctx.properties`), with a label for each: the element templates make them fields.

        `calendar_derived` names output variables computed from the working-day calendar (a
        deadline, whether it is provisional), each with a label for the case page ("" to leave it
        off), and `recompute(ctx)` gives them again: when a decree
        changes the calendar while a deadline that follows this handler still waits, the worker
        calls it with the variables the handler saw and the new calendar, and the case carries
        the new values on. It may notify; it must not have other side effects."""

        def register(fn: ServiceHandler) -> ServiceHandler:
            self._add(
                self._service,
                HandlerInfo(
                    topic,
                    "service",
                    fn,
                    label or topic,
                    description,
                    dict(properties or {}),
                    dict(calendar_derived or {}),
                    recompute,
                    tuple(outputs),
                ),
            )
            return fn

        return register

    def user_task(
        self,
        name: str,
        label: str = "",
        description: str = "",
        properties: Mapping[str, str] | None = None,
        *,
        calendar_derived: Mapping[str, str] | None = None,
        recompute: Callable[[HandlerContext], Mapping[str, Any]] | None = None,
        outputs: tuple[str, ...] | list[str] = (),
    ) -> Callable:
        """Register a user-task handler; raise `ValidationFailed({field: message})` to refuse.
        `calendar_derived` and `recompute` as for `service`."""

        def register(fn: UserTaskHandler) -> UserTaskHandler:
            self._add(
                self._user,
                HandlerInfo(
                    name,
                    "user",
                    fn,
                    label or name,
                    description,
                    dict(properties or {}),
                    dict(calendar_derived or {}),
                    recompute,
                    tuple(outputs),
                ),
            )
            return fn

        return register

    @staticmethod
    def _add(table: dict[str, HandlerInfo], info: HandlerInfo) -> None:
        if info.name in table:
            raise ValueError(f"handler {info.name!r} registered twice")
        if bool(info.calendar_derived) != (info.recompute is not None):
            raise ValueError(f"handler {info.name!r}: calendar_derived and recompute go together")
        table[info.name] = info

    @property
    def calendar_derived(self) -> dict[str, str]:
        """Every variable some handler derives from the working-day calendar, with its label."""
        return {
            name: label
            for info in (*self._service.values(), *self._user.values())
            for name, label in info.calendar_derived.items()
        }

    def handler_of(self, task) -> HandlerInfo | None:
        """The handler a task's element is bound to: its topic (service task) or `handler` property."""
        extensions = getattr(task.task_spec, "extensions", None) or {}
        if extensions.get("topic"):
            return self._service.get(extensions["topic"])
        if extensions.get("handler"):
            return self._user.get(extensions["handler"])
        return None

    def service_handler(self, topic: str) -> HandlerInfo | None:
        return self._service.get(topic)

    def user_handler(self, name: str) -> HandlerInfo | None:
        return self._user.get(name)

    @property
    def services(self) -> list[HandlerInfo]:
        return sorted(self._service.values(), key=lambda h: h.name)

    @property
    def user_tasks(self) -> list[HandlerInfo]:
        return sorted(self._user.values(), key=lambda h: h.name)
