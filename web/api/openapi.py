"""The OpenAPI 3.1 document of /api/v1, written out by hand next to the routes it describes.

tests/web/test_api_schema.py runs schemathesis against it over HTTP: every response must match
what is written here (status, content type, body schema), and none may be a 5xx.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from engine.documents import ALLOWED

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
STRINGS = {"type": "array", "items": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """Every property listed is present (null where the type allows); objects stay open, so a
    field added later is a compatible change."""
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def _page_of(item: str) -> dict[str, Any]:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
        }
    )


INSTANCE_SUMMARY = {
    "id": {"type": "integer"},
    "process": {"type": "string"},
    "version": {"type": "integer"},
    "title": {"type": "string"},
    "business_key": NULLABLE_STRING,
    "region": NULLABLE_STRING,
    "status": {"type": "string", "description": "running, completed, cancelled"},
    "stage": NULLABLE_INT,
    "stage_name": NULLABLE_STRING,
    "started_at": DATE_TIME,
    "updated_at": DATE_TIME,
    "ended_at": NULLABLE_DATE_TIME,
}
TASK_SUMMARY = {
    "id": {"type": "string"},
    "instance_id": {"type": "integer"},
    "element": {"type": "string"},
    "name": {"type": "string"},
    "lane": NULLABLE_STRING,
    "stage": NULLABLE_INT,
    "status": {"type": "string", "description": "ready, completed, cancelled"},
    "candidate_groups": STRINGS,
    "assignee": NULLABLE_STRING,
    "due_at": NULLABLE_DATE_TIME,
    "created_at": DATE_TIME,
    "completed_at": NULLABLE_DATE_TIME,
    "completed_by": NULLABLE_STRING,
}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; `errors` names each refused field with its message.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
            "problems": STRINGS,
        },
        "required": ["type", "title", "status", "detail"],
    },
    "ProcessDefinition": _object(
        {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "version": {"type": "integer"},
            "name": {"type": "string"},
            "deployed_at": DATE_TIME,
            "deployed_by": NULLABLE_STRING,
        }
    ),
    "FormField": _object(
        {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "type": {"type": "string", "description": "string, textarea, long, boolean, date, enum, file"},
            "required": {"type": "boolean"},
            "readonly": {"type": "boolean"},
            "default": NULLABLE_STRING,
            "constraints": {"type": "object", "additionalProperties": NULLABLE_STRING},
            "options": {
                "type": "array",
                "items": _object({"id": {"type": "string"}, "name": {"type": "string"}}),
            },
        }
    ),
    "DeployResult": _object(
        {
            "deployed": {
                "type": "array",
                "items": _object(
                    {
                        "key": {"type": "string"},
                        "version": {"type": "integer"},
                        "changed": {"type": "boolean"},
                        "definition_id": {"type": "integer"},
                    }
                ),
            }
        }
    ),
    "InstanceSummary": _object(INSTANCE_SUMMARY),
    "Instance": _object(
        {
            **INSTANCE_SUMMARY,
            "region_name": NULLABLE_STRING,
            "timezone": NULLABLE_STRING,
            "variables": {"type": "object"},
            "tasks": {"type": "array", "items": _ref("TaskSummary")},
            "timers": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string"},
                        "element": {"type": "string"},
                        "name": {"type": "string"},
                        "due_at": DATE_TIME,
                        "interrupting": {"type": "boolean"},
                    }
                ),
            },
            "jobs": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string"},
                        "element": {"type": "string"},
                        "name": {"type": "string"},
                        "topic": {"type": "string"},
                        "status": {"type": "string"},
                        "attempts": {"type": "integer"},
                        "max_attempts": {"type": "integer"},
                        "next_run_at": DATE_TIME,
                        "last_error": NULLABLE_STRING,
                    }
                ),
            },
            "incidents": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "integer"},
                        "element": {"type": "string"},
                        "message": {"type": "string"},
                        "created_at": DATE_TIME,
                        "resolved_at": NULLABLE_DATE_TIME,
                    }
                ),
            },
        }
    ),
    "TaskSummary": _object(TASK_SUMMARY),
    "Task": _object(
        {
            **TASK_SUMMARY,
            "form": {"type": "array", "items": _ref("FormField")},
            "may_do": {"type": "boolean", "description": "Offered to the token's user and still ready"},
        }
    ),
    "NextTask": _object(
        {
            "id": {"type": "string"},
            "element": {"type": "string"},
            "name": {"type": "string"},
            "candidate_groups": STRINGS,
            "due_at": NULLABLE_DATE_TIME,
        }
    ),
    "StepResult": _object(
        {
            "instance_id": {"type": "integer"},
            "status": {"type": "string", "description": "running, completed, cancelled"},
            "stage": NULLABLE_INT,
            "stage_name": NULLABLE_STRING,
            "next_tasks": {"type": "array", "items": _ref("NextTask")},
            "incident": {
                **NULLABLE_STRING,
                "description": "The task is done but the engine failed after it: an incident is open",
            },
        }
    ),
    "HistoryEntry": _object(
        {
            "id": {"type": "integer"},
            "at": DATE_TIME,
            "actor": NULLABLE_STRING,
            "action": {"type": "string"},
            "task_id": NULLABLE_STRING,
            "element": NULLABLE_STRING,
            "detail": {"type": "object"},
        }
    ),
    "Incident": _object(
        {
            "id": {"type": "integer"},
            "instance_id": {"type": "integer"},
            "element": {"type": "string"},
            "message": {"type": "string"},
            "traceback": {**NULLABLE_STRING, "description": "Operators only; null for others"},
            "created_at": DATE_TIME,
            "resolved_at": NULLABLE_DATE_TIME,
            "resolved_by": NULLABLE_STRING,
        }
    ),
    "Document": _object(
        {
            "id": {"type": "integer"},
            "instance_id": {"type": "integer"},
            "task_id": NULLABLE_STRING,
            "field": NULLABLE_STRING,
            "stage": NULLABLE_INT,
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "uploaded_by": NULLABLE_STRING,
            "uploaded_at": DATE_TIME,
        }
    ),
    "VariablesBody": {
        "type": "object",
        "properties": {
            "variables": {
                "type": "object",
                "description": "Form field id -> value: text, integer, boolean, ISO date, enum id, "
                "or the id of a document already uploaded to the case for a file field",
            }
        },
    },
    "StartBody": {
        "type": "object",
        "properties": {
            "region": {**NULLABLE_STRING, "description": "Region code; the token user's region if omitted"},
            "business_key": {**NULLABLE_STRING, "maxLength": 200},
            "variables": {"type": "object", "description": "Start form field id -> value"},
        },
    },
    "MultipartVariables": {
        "type": "object",
        "description": "`variables` as JSON text, and one file part per file field (named by its id)",
        "properties": {"variables": {"type": "string", "contentMediaType": "application/json"}},
        "additionalProperties": {"type": "string", "contentMediaType": "application/octet-stream"},
    },
}

for _name in ("ProcessDefinition", "InstanceSummary", "TaskSummary", "HistoryEntry", "Incident"):
    SCHEMAS[f"{_name}Page"] = _page_of(_name)
SCHEMAS["DocumentList"] = _object({"items": {"type": "array", "items": _ref("Document")}})

ERROR_TEXT = {
    "400": "Parameter atau badan permintaan tidak valid",
    "401": "Tanpa token yang berlaku",
    "403": "Pengguna token tidak berwenang",
    "404": "Tidak ada, atau tidak terlihat oleh pengguna token",
    "405": "Metode tidak diizinkan",
    "409": "Bentrok: tugas sudah diambil atau diselesaikan, kasus sudah berakhir, atau data diubah bersamaan",
    "413": "Kiriman terlalu besar",
    "415": "Jenis isi tidak didukung",
    "422": "Isian ditolak; `errors` menyebut setiap isian dengan pesannya",
    "503": "Basis data tidak dapat dihubungi; coba lagi (Retry-After)",
}
READ_ERRORS = ("400", "401", "404", "405", "503")
WRITE_ERRORS = ("400", "401", "403", "404", "405", "409", "413", "415", "422", "503")


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _operation(
    summary: str,
    ok: dict[str, dict[str, Any]],
    errors: tuple[str, ...],
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses = dict(ok)
    for code in errors:
        responses[code] = {
            "description": ERROR_TEXT[code],
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    return operation


def _path(name: str, kind: str = "integer") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if kind == "integer":
        schema.update(minimum=1, maximum=2**31 - 1)
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
]
BOOLEAN = {"type": "string", "enum": ["true", "false"]}
VARIABLES_BODY = {
    "content": {
        "application/json": {"schema": _ref("VariablesBody")},
        "multipart/form-data": {"schema": _ref("MultipartVariables")},
    }
}


@cache
def document() -> dict[str, Any]:
    sorts = [f"{p}{s}" for s in ("id", "started_at", "updated_at", "stage", "title") for p in ("", "-")]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "KSDPL orchestrator API",
            "version": "1.0.0",
            "description": "Cases, tasks and incidents of the KSDPL orchestrator. Authenticate with "
            "`Authorization: Bearer <token>` (`ksdpl token create USER`); a token sees and may do "
            "exactly what its user sees and may do on the web. Errors are application/problem+json "
            "with Indonesian messages.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
            "/api/v1/process-definitions": {
                "get": _operation(
                    "Deployed versions, newest first per process",
                    {"200": _json("ProcessDefinitionPage")},
                    READ_ERRORS,
                    [_query("key", {"type": "string"}), *PAGING],
                ),
                "post": _operation(
                    "Deploy .bpmn/.dmn files (operators); 201 when a version was created, 200 when unchanged",
                    {"200": _json("DeployResult"), "201": _json("DeployResult", "Deployed")},
                    WRITE_ERRORS,
                    body={
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "files": {
                                            "type": "array",
                                            "items": {
                                                "type": "string",
                                                "contentMediaType": "application/octet-stream",
                                            },
                                        }
                                    },
                                    "required": ["files"],
                                }
                            }
                        },
                    },
                ),
            },
            "/api/v1/process-definitions/{key}": {
                "get": _operation(
                    "The newest version with its start form and stage names",
                    {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "allOf": [
                                            SCHEMAS["ProcessDefinition"],
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "start_form": {
                                                        "type": "array",
                                                        "items": _ref("FormField"),
                                                    },
                                                    "stages": {
                                                        "type": "object",
                                                        "additionalProperties": {"type": "string"},
                                                    },
                                                    "may_start_in_own_region": {"type": "boolean"},
                                                },
                                                "required": [
                                                    "start_form",
                                                    "stages",
                                                    "may_start_in_own_region",
                                                ],
                                            },
                                        ]
                                    }
                                }
                            },
                        }
                    },
                    READ_ERRORS,
                    [_path("key", "string")],
                )
            },
            "/api/v1/process-definitions/{key}/start": {
                "post": _operation(
                    "Start a case of the newest version; values checked by the start form",
                    {"201": _json("Instance", "Started; Location names the case")},
                    WRITE_ERRORS,
                    [_path("key", "string")],
                    {
                        "content": {
                            "application/json": {"schema": _ref("StartBody")},
                            "multipart/form-data": {"schema": _ref("MultipartVariables")},
                        }
                    },
                )
            },
            "/api/v1/instances": {
                "get": _operation(
                    "Cases the token's user sees, filtered and paginated",
                    {"200": _json("InstanceSummaryPage")},
                    READ_ERRORS,
                    [
                        _query("q", {"type": "string"}, "In title, business key, partner, country; or #id"),
                        _query("status", {"type": "string", "enum": ["running", "completed", "cancelled"]}),
                        _query("stage", {"type": "integer", "minimum": 0, "maximum": 1000}),
                        _query("region", {"type": "string"}),
                        _query("kind", {"type": "string"}, "jenis_kerja_sama, e.g. ksdpl"),
                        _query("overdue", BOOLEAN, "A ready task past its due time"),
                        _query("incident", BOOLEAN, "An open incident"),
                        _query("started_from", {"type": "string", "format": "date"}, "In the case's zone"),
                        _query("started_to", {"type": "string", "format": "date"}, "Inclusive"),
                        _query("sort", {"type": "string", "enum": sorts, "default": "-updated_at"}),
                        *PAGING,
                    ],
                )
            },
            "/api/v1/instances/{instance_id}": {
                "get": _operation(
                    "One case: variables, ready tasks, timers, jobs, incidents",
                    {"200": _json("Instance")},
                    READ_ERRORS,
                    [_path("instance_id")],
                )
            },
            "/api/v1/instances/{instance_id}/history": {
                "get": _operation(
                    "The case's history, oldest first",
                    {"200": _json("HistoryEntryPage")},
                    READ_ERRORS,
                    [_path("instance_id"), *PAGING],
                )
            },
            "/api/v1/instances/{instance_id}/cancel": {
                "post": _operation(
                    "Cancel a running case (operators)",
                    {"200": _json("Instance")},
                    WRITE_ERRORS,
                    [_path("instance_id")],
                )
            },
            "/api/v1/instances/{instance_id}/documents": {
                "get": _operation(
                    "The case's documents (metadata)",
                    {"200": _json("DocumentList")},
                    READ_ERRORS,
                    [_path("instance_id")],
                ),
                "post": _operation(
                    "Upload a document to the case; use its id as a file field's value",
                    {"201": _json("Document", "Stored")},
                    WRITE_ERRORS,
                    [_path("instance_id")],
                    {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {
                                            "type": "string",
                                            "contentMediaType": "application/octet-stream",
                                        },
                                        "task_id": {"type": "string"},
                                        "field": {"type": "string", "maxLength": 100},
                                    },
                                    "required": ["file"],
                                }
                            }
                        },
                    },
                ),
            },
            "/api/v1/documents/{document_id}": {
                "get": _operation(
                    "A document's content",
                    {
                        "200": {
                            "description": "The file, as its kind's content type",
                            "content": {kind: {} for kind, _magic in sorted(set(ALLOWED.values()))},
                        }
                    },
                    READ_ERRORS,
                    [_path("document_id")],
                )
            },
            "/api/v1/tasks": {
                "get": _operation(
                    "Ready tasks the token's user may do, soonest deadline first",
                    {"200": _json("TaskSummaryPage")},
                    READ_ERRORS,
                    [
                        _query(
                            "scope",
                            {"type": "string", "enum": ["all", "mine", "groups"], "default": "all"},
                            "mine: assigned to the user; groups: offered to their groups, not taken",
                        ),
                        _query("instance_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                        *PAGING,
                    ],
                )
            },
            "/api/v1/tasks/{task_id}": {
                "get": _operation(
                    "One task with its form fields",
                    {"200": _json("Task")},
                    READ_ERRORS,
                    [_path("task_id", "string")],
                )
            },
            "/api/v1/tasks/{task_id}/claim": {
                "post": _operation(
                    "Take the task", {"200": _json("Task")}, WRITE_ERRORS, [_path("task_id", "string")]
                )
            },
            "/api/v1/tasks/{task_id}/unclaim": {
                "post": _operation(
                    "Give the task back to its groups",
                    {"200": _json("Task")},
                    WRITE_ERRORS,
                    [_path("task_id", "string")],
                )
            },
            "/api/v1/tasks/{task_id}/complete": {
                "post": _operation(
                    "Complete the task; files as multipart parts or as document ids in `variables`",
                    {"200": _json("StepResult")},
                    WRITE_ERRORS,
                    [_path("task_id", "string")],
                    VARIABLES_BODY,
                )
            },
            "/api/v1/incidents": {
                "get": _operation(
                    "Incidents of cases the token's user sees, newest first",
                    {"200": _json("IncidentPage")},
                    READ_ERRORS,
                    [
                        _query("open", BOOLEAN),
                        _query("instance_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                        *PAGING,
                    ],
                )
            },
            "/api/v1/incidents/{incident_id}/retry": {
                "post": _operation(
                    "Retry the failed step (operators)",
                    {"200": _json("Incident")},
                    WRITE_ERRORS,
                    [_path("incident_id")],
                )
            },
        },
    }
