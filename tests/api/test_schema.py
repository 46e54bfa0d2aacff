"""schemathesis against /api/v1/openapi.json over HTTP: generated requests (valid and invalid)
to every operation, as an operator and as regional staff, must never get a 5xx, and every
response must match the document (status, content type, body schema). Bounded: a few examples
per operation and a time budget, so the run stays well under three minutes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import PDF
from tests.ksdpl.conftest import START

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def schemathesis(base_url: str, token: str, tmp_path: Path) -> subprocess.CompletedProcess:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st),
            "run",
            f"{base_url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--seed",
            "20270104",
            "--workers",
            "1",
            "--max-time",
            "40",
            "--generation-database",
            "none",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )


@pytest.mark.parametrize("user", ["operator", "pemda.sby"])
def test_schemathesis_finds_no_server_error_and_no_response_outside_the_document(
    api, base_url, tokens, tmp_path, user, db_url
) -> None:
    if db_url.startswith("postgresql") and user != "operator":
        pytest.skip("one run on PostgreSQL is enough")
    case = api["pemda.sby"].ok(
        "post", "/api/v1/process-definitions/ksdpl/start", 201, json={"region": "3578", "variables": START}
    )
    assert case["tasks"]
    uploaded = api["pemda.sby"].ok(  # a document to download
        "post", f"/api/v1/instances/{case['id']}/documents", 201, files={"file": ("surat.pdf", PDF)}
    )
    assert uploaded["id"] == 1
    result = schemathesis(base_url, tokens[user], tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout.lower(), result.stdout[-3000:]
