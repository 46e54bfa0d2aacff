"""The JSON API's rules over real HTTP: no token no answer, a token sees and may do exactly what
its user sees and may do, refusals are problem+json with Indonesian field messages and change
nothing, operators' commands are theirs."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import requests
from sqlalchemy import func, select, update

from engine.access import visible_instances
from engine.clock import clock
from engine.models import AuditEvent, Document, Instance, Job, Task, User
from tests.api.conftest import PDF, USERS, Api
from tests.conftest import ROOT
from tests.ksdpl.conftest import BPMN, DMN, START
from web.inbox_query import InboxQuery, inbox_page
from web.tokens import create_token, list_tokens, revoke

PROBLEM = "application/problem+json"


def start(api: dict[str, Api], user: str = "pemda.sby", region: str = "3578", **values) -> dict:
    return api[user].ok(
        "post",
        "/api/v1/process-definitions/ksdpl/start",
        201,
        json={"region": region, "variables": {**START, **values}},
    )


def first_task(api: dict[str, Api], case: dict) -> dict:
    return case["tasks"][0]


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def inbox_task_ids(session, actor) -> set[str]:
    """Every task of the actor's web inbox, page after page."""
    ids, number = set(), 1
    while True:
        page = inbox_page(session, actor, clock.now(), InboxQuery(page=number))
        ids |= {row.task_id for row in page.rows}
        if number >= page.pages:
            return ids
        number += 1


def api_rules(app) -> list[tuple[str, str]]:
    """Every API route with each of its methods, path parameters filled in."""
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", "1").replace(f"<{name}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((method, path))
    return rules


def test_every_api_route_gives_401_without_a_valid_token(app, base_url, tokens, orch) -> None:
    rules = api_rules(app)
    assert len(rules) >= 17
    with orch.uow() as uow:
        revoked = create_token(uow.session, "kemenlu")
        uow.commit()
    with orch.uow() as uow:
        revoke(uow.session, token_id=list_tokens(uow.session, "kemenlu")[-1].id)
        uow.commit()
    session_only = requests.Session()  # a logged-in browser: its cookie is not a token
    page = session_only.get(f"{base_url}/login").text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    login = session_only.post(
        f"{base_url}/login", data={"username": "operator", "password": "rahasia-uji-123", "csrf_token": csrf}
    )
    assert login.ok and session_only.get(f"{base_url}/kasus", allow_redirects=False).status_code == 200
    for method, path in rules:
        for headers in ({}, {"Authorization": "Bearer ksdpl_salah"}, {"Authorization": f"Bearer {revoked}"}):
            response = requests.request(method, base_url + path, headers=headers, timeout=30)
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_problem(session_only.request(method, base_url + path), 401)
    # the same token works until its user's account is disabled
    assert requests.get(
        f"{base_url}/api/v1/tasks", headers={"Authorization": f"Bearer {tokens['kemenlu']}"}
    ).ok
    with orch.uow() as uow:
        uow.session.execute(update(User).where(User.username == "kemenlu").values(active=False))
        uow.commit()
    assert_problem(
        requests.get(f"{base_url}/api/v1/tasks", headers={"Authorization": f"Bearer {tokens['kemenlu']}"}),
        401,
    )


def test_the_openapi_document_is_public_and_names_every_route(app, base_url) -> None:
    document = requests.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, path) in documented


def test_tokens_see_exactly_what_their_users_see(api, orch) -> None:
    start(api, "pemda.sby", "3578", nama_mitra="Kitakyushu")
    start(api, "pemda.sby", "3578", nama_mitra="Busan")
    badung = start(api, "pemda.badung", "5103", nama_mitra="Perth")
    api["pemda.badung"].ok("post", f"/api/v1/tasks/{first_task(api, badung)['id']}/claim")
    from web import auth  # noqa: F401  (the web's own queries, as the pages call them)

    for username, (_name, groups, region) in USERS.items():
        actor = orch.registry.access.actor(username, groups.split(","), region)
        with orch.session() as s:
            web_cases = set(s.scalars(select(Instance.id).where(visible_instances(actor))))
            web_tasks = inbox_task_ids(s, actor)
        cases = api[username].ok("get", "/api/v1/instances?per_page=100")
        tasks = api[username].ok("get", "/api/v1/tasks?per_page=100")
        assert {c["id"] for c in cases["items"]} == web_cases, username
        assert cases["total"] == len(web_cases)
        assert {t["id"] for t in tasks["items"]} == web_tasks, username
    # another region's case and task are not found at all
    outsider = api["pemda.sby"]
    assert_problem(outsider.get(f"/api/v1/instances/{badung['id']}"), 404)
    assert_problem(outsider.get(f"/api/v1/instances/{badung['id']}/history"), 404)
    assert_problem(outsider.get(f"/api/v1/tasks/{first_task(api, badung)['id']}"), 404)
    assert_problem(outsider.post(f"/api/v1/tasks/{first_task(api, badung)['id']}/claim"), 404)
    # scopes: mine, groups
    mine = api["pemda.badung"].ok("get", "/api/v1/tasks?scope=mine")["items"]
    assert [t["id"] for t in mine] == [first_task(api, badung)["id"]]
    assert api["pemda.badung"].ok("get", "/api/v1/tasks?scope=groups")["items"] == []


def test_case_list_filters_and_pages(api, orch) -> None:
    ids = [start(api, nama_mitra=name)["id"] for name in ("Kitakyushu", "Busan", "Penang")]
    operator = api["operator"]
    page = operator.ok("get", "/api/v1/instances?per_page=2&sort=id")
    assert ([c["id"] for c in page["items"]], page["total"]) == (ids[:2], 3)
    assert [
        c["id"] for c in operator.ok("get", "/api/v1/instances?per_page=2&page=2&sort=id")["items"]
    ] == ids[2:]
    assert [c["id"] for c in operator.ok("get", "/api/v1/instances?q=busan")["items"]] == [ids[1]]
    assert operator.ok("get", "/api/v1/instances?kind=ksdpl&region=3578&status=running&stage=2")["total"] == 3
    assert operator.ok("get", "/api/v1/instances?kind=ksdll")["total"] == 0
    assert operator.ok("get", "/api/v1/instances?started_from=2027-01-04&started_to=2027-01-04")["total"] == 3
    assert operator.ok("get", "/api/v1/instances?started_from=2027-01-05")["total"] == 0
    assert operator.ok("get", "/api/v1/instances?overdue=true")["total"] == 0
    assert operator.ok("get", "/api/v1/instances?overdue=false")["total"] == 3
    # one title: the tie-break on the case number goes the sort's way (one index's order)
    assert [c["id"] for c in operator.ok("get", "/api/v1/instances?sort=title")["items"]] == ids
    assert [c["id"] for c in operator.ok("get", "/api/v1/instances?sort=-title")["items"]] == ids[::-1]
    assert operator.ok("get", "/api/v1/instances?incident=false")["total"] == 3
    for query, field in (
        ("page=0", "page"),
        ("per_page=500", "per_page"),
        ("status=lain", "status"),
        ("overdue=mungkin", "overdue"),
        ("started_from=kemarin", "started_from"),
        ("sort=x", "sort"),
    ):
        body = assert_problem(operator.get(f"/api/v1/instances?{query}"), 400)
        assert field in body["errors"]


def test_refused_values_are_field_errors_and_change_nothing(api, orch) -> None:
    case = start(api)
    task = first_task(api, case)
    pemda = api["pemda.sby"]
    before = snapshot(orch)
    body = assert_problem(
        pemda.post(
            f"/api/v1/tasks/{task['id']}/complete",
            data={"variables": json.dumps({"hasil_penjajakan": "barangkali", "uraian_penjajakan": ""})},
            files={"dokumen_penjajakan": ("a.pdf", PDF, "application/pdf")},
        ),
        422,
    )
    assert body["errors"] == {
        "hasil_penjajakan": "Pilihan tidak tersedia",
        "uraian_penjajakan": "Wajib diisi",
    }
    assert snapshot(orch) == before  # the upload rode the refused step: nothing was stored
    # a file that is not what it claims, a document of another case, bad JSON, a non-object
    renamed = pemda.post(
        f"/api/v1/tasks/{task['id']}/complete",
        files={"dokumen_penjajakan": ("a.pdf", b"<html>", "application/pdf")},
    )
    assert assert_problem(renamed, 422)["errors"] == {
        "dokumen_penjajakan": "Isi berkas tidak sesuai dengan jenis .pdf"
    }
    other = start(api)
    foreign = pemda.ok(
        "post", f"/api/v1/instances/{other['id']}/documents", 201, files={"file": ("b.pdf", PDF)}
    )
    wrong_case = pemda.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={
            "variables": {
                "hasil_penjajakan": "sepakat",
                "uraian_penjajakan": "x",
                "dokumen_penjajakan": foreign["id"],
            }
        },
    )
    assert assert_problem(wrong_case, 422)["errors"] == {
        "dokumen_penjajakan": "Dokumen tidak ditemukan pada kasus ini"
    }
    assert_problem(
        pemda.post(
            f"/api/v1/tasks/{task['id']}/complete", data="{", headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert_problem(pemda.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": [1]}), 400)
    assert_problem(
        pemda.post(f"/api/v1/tasks/{task['id']}/complete", data="x", headers={"Content-Type": "text/plain"}),
        415,
    )
    # a start refused by its form
    refused = pemda.post(
        "/api/v1/process-definitions/ksdpl/start", json={"variables": {"jenis_kerja_sama": "lain"}}
    )
    errors = assert_problem(refused, 422)["errors"]
    assert (
        errors["jenis_kerja_sama"] == "Pilihan tidak tersedia" and errors["judul_kerja_sama"] == "Wajib diisi"
    )
    assert_problem(pemda.post("/api/v1/process-definitions/tidak-ada/start", json={}), 404)
    assert_problem(
        pemda.post("/api/v1/process-definitions/ksdpl/start", json={"region": "5103", "variables": START}),
        403,
    )


def snapshot(orch) -> tuple:
    with orch.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (Instance, Task, Document, AuditEvent, Job)
        ) + (s.scalar(select(func.sum(Instance.lock_version))),)


def test_claim_unclaim_and_who_may_do_what(api, orch) -> None:
    case = start(api)
    task_id = first_task(api, case)["id"]
    ani, kada = api["pemda.sby"], api["kada.sby"]
    assert_problem(kada.post(f"/api/v1/tasks/{task_id}/claim"), 403)  # not offered to the Kepala Daerah
    assert ani.ok("post", f"/api/v1/tasks/{task_id}/claim")["assignee"] == "pemda.sby"
    with orch.uow() as uow:
        uow.session.add(
            User(
                username="pemda.sby2",
                name="Budi",
                password_hash="x",
                groups="pemda",
                region_code="3578",
                active=True,
                created_at=clock.now(),
            )
        )
        uow.commit()
    with orch.uow() as uow:
        token = create_token(uow.session, "pemda.sby2")
        uow.commit()
    budi = Api(ani.base, token)
    assert budi.ok("get", f"/api/v1/tasks/{task_id}")["may_do"] is True
    assert (
        "sedang dikerjakan oleh pemda.sby"
        in assert_problem(budi.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}}), 409)[
            "detail"
        ]
    )
    assert_problem(budi.post(f"/api/v1/tasks/{task_id}/claim"), 409)
    assert ani.ok("post", f"/api/v1/tasks/{task_id}/unclaim")["assignee"] is None
    budi.close()


def test_operators_cancel_retry_and_deploy(api, orch) -> None:
    case = start(api)
    pemda, operator = api["pemda.sby"], api["operator"]
    assert_problem(pemda.post(f"/api/v1/instances/{case['id']}/cancel"), 403)
    assert operator.ok("post", f"/api/v1/instances/{case['id']}/cancel")["status"] == "cancelled"
    assert_problem(operator.post(f"/api/v1/instances/{case['id']}/cancel"), 409)

    # deploy: operators only; unchanged files make no version; bad files are listed
    files = [
        ("files", ("ksdpl.bpmn", BPMN.encode(), "application/xml")),
        ("files", ("kelayakan.dmn", DMN.encode())),
    ]
    assert_problem(pemda.post("/api/v1/process-definitions", files=files), 403)
    unchanged = operator.ok("post", "/api/v1/process-definitions", 200, files=files)
    assert unchanged["deployed"][0]["changed"] is False
    changed = BPMN.replace('name="Prakarsa kerja sama"', 'name="Prakarsa kerja sama baru"', 1)
    deployed = operator.ok(
        "post",
        "/api/v1/process-definitions",
        201,
        files=[("files", ("ksdpl.bpmn", changed.encode())), ("files", ("kelayakan.dmn", DMN.encode()))],
    )
    assert deployed["deployed"][0]["version"] == 2
    broken = operator.post("/api/v1/process-definitions", files=[("files", ("x.bpmn", b"<bukan-bpmn/>"))])
    assert assert_problem(broken, 422)["problems"]
    assert assert_problem(
        operator.post("/api/v1/process-definitions", files=[("files", ("x.txt", b"a"))]), 422
    )["errors"]
    versions = pemda.ok("get", "/api/v1/process-definitions?key=ksdpl")
    assert [d["version"] for d in versions["items"]] == [2, 1]
    definition = pemda.ok("get", "/api/v1/process-definitions/ksdpl")
    assert definition["may_start_in_own_region"] is True
    assert {f["id"]: f["required"] for f in definition["start_form"]}["judul_kerja_sama"] is True


def test_an_incident_listed_and_retried_by_an_operator(api, orch, monkeypatch) -> None:
    case = start(api)
    from tests.api.driver import HttpCase
    from tests.ksdpl.driver import ALL_PREREQUISITES

    http_case = HttpCase(api, case["id"])
    http_case.complete("Task_Penjajakan", mekanisme_kunjungan_langsung=True, hasil_penjajakan="sepakat")
    http_case.complete("Task_SusunKajian")
    http_case.complete("Task_PeriksaPersyaratan", **ALL_PREREQUISITES)
    with orch.uow() as uow:  # the job has failed its last try
        uow.session.execute(update(Job).values(max_attempts=1))
        uow.commit()

    def broken(ctx):
        raise RuntimeError("layanan mati")

    monkeypatch.setattr(orch.registry, "service_handler", lambda topic: SimpleNamespace(function=broken))
    assert orch.run_due().incidents == 1
    operator, pemda = api["operator"], api["pemda.sby"]
    [incident] = operator.ok("get", "/api/v1/incidents?open=true")["items"]
    assert "layanan mati" in incident["message"] and "RuntimeError" in incident["traceback"]
    assert pemda.ok("get", "/api/v1/incidents")["items"][0]["traceback"] is None  # staff see that it failed
    assert api["pemda.badung"].ok("get", "/api/v1/incidents")["total"] == 0
    assert operator.ok("get", "/api/v1/instances?incident=true")["total"] == 1
    assert_problem(pemda.post(f"/api/v1/incidents/{incident['id']}/retry"), 403)
    monkeypatch.undo()
    retried = operator.ok("post", f"/api/v1/incidents/{incident['id']}/retry")
    assert retried["resolved_by"] == "operator"
    assert_problem(operator.post(f"/api/v1/incidents/{incident['id']}/retry"), 409)
    assert orch.run_due().jobs_run >= 1  # the retried job, then the decision table's
    assert http_case.ready() == ["Task_SusunRancanganLoi"]


def test_ids_beyond_the_database_integer_are_not_found(api) -> None:
    """schemathesis found these as 500s: SQLite cannot bind an integer past 64 bits."""
    operator = api["operator"]
    for path in ("/api/v1/instances/98103548526119343882240", "/api/v1/documents/6715324846491174852100096"):
        assert_problem(operator.get(path), 404)
    assert_problem(operator.post("/api/v1/instances/1477677504335297642496/cancel"), 404)
    assert (
        "instance_id"
        in assert_problem(operator.get("/api/v1/tasks?instance_id=99999999999999999999999"), 400)["errors"]
    )


def test_values_longer_than_their_columns_are_refused_not_a_500(api) -> None:
    """PostgreSQL refuses a value longer than its column where SQLite stores it: both must answer 422."""
    pemda = api["pemda.sby"]
    long_key = pemda.post(
        "/api/v1/process-definitions/ksdpl/start",
        json={"region": "3578", "variables": START, "business_key": "K" * 201},
    )
    assert assert_problem(long_key, 422)["errors"] == {"business_key": "Paling banyak 200 karakter"}
    case = start(api)
    long_field = pemda.post(
        f"/api/v1/instances/{case['id']}/documents", files={"file": ("a.pdf", PDF)}, data={"field": "f" * 101}
    )
    assert assert_problem(long_field, 422)["errors"] == {"field": "Paling banyak 100 karakter"}


def test_a_process_id_longer_than_its_column_is_refused_at_deploy(api) -> None:
    long_id = "proses_" + "x" * 100
    bpmn = (ROOT / "bench/loop.bpmn").read_text().replace('"loop"', f'"{long_id}"')
    refused = api["operator"].post(
        "/api/v1/process-definitions", files=[("files", ("panjang.bpmn", bpmn.encode()))]
    )
    assert assert_problem(refused, 422)["problems"] == [
        f"{long_id[:40]}...: id proses paling banyak 100 karakter"
    ]


def test_web_pages_do_not_take_a_token_and_keep_their_csrf_check(base_url, tokens) -> None:
    """A token is for the API only: the pages still need a session, and their forms a CSRF token."""
    headers = {"Authorization": f"Bearer {tokens['operator']}"}
    page = requests.get(f"{base_url}/kasus", headers=headers, allow_redirects=False, timeout=30)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    form = requests.post(
        f"{base_url}/kasus/baru", headers=headers, data={}, allow_redirects=False, timeout=30
    )
    assert form.status_code == 400 and "CSRF" in form.text


def test_a_value_that_is_not_a_field_of_the_form_is_refused(api) -> None:
    case = start(api)
    task = first_task(api, case)
    refused = api["pemda.sby"].post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"variables": {"hasil_penjajakan": "sepakat", "uraian_penjajakan": "x", "disetujui": True}},
    )
    assert "Bukan isian formulir tugas ini" in assert_problem(refused, 422)["errors"]["disetujui"]
    unused_file = api["pemda.sby"].post(
        f"/api/v1/tasks/{task['id']}/complete",
        data={"variables": json.dumps({"hasil_penjajakan": "sepakat", "uraian_penjajakan": "x"})},
        files={"lampiran": ("a.pdf", PDF, "application/pdf")},
    )
    assert assert_problem(unused_file, 422)["errors"] == {"lampiran": "Bukan isian berkas pada formulir ini"}


def test_a_nul_in_a_query_or_path_is_a_problem_400(api, orch) -> None:
    """Found by schemathesis on PostgreSQL: a NUL in a filter reached the database (500)."""
    operator = api["operator"]
    for path in ("/api/v1/instances?q=%00", "/api/v1/process-definitions?key=a%00", "/api/v1/tasks/a%00b"):
        body = assert_problem(operator.get(path), 400)
        assert "karakter NUL" in body["detail"], path
    # a path no route matches is the API's 404, NUL or not
    assert_problem(operator.get("/api/v1/instances/TRUE/history?a=%00"), 404)
