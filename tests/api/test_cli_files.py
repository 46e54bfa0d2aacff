"""A clerk drives a KSDPL case past stage 2 with the `ksdpl` command alone: `form` tells what
each task asks, `complete --file field=PATH` attaches the required documents, and `complete`
names the next task with the id to use."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner, Result

from engine.clock import clock
from engine.models import Document, Region, User
from engine.service import Orchestrator
from engine.store import upgrade
from handlers import registry
from tests.api.conftest import PDF
from tests.conftest import ROOT
from tests.ksdpl.conftest import START
from web import create_app
from web.cli import build_cli


@pytest.fixture
def ksdpl(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    orch = Orchestrator(url, registry)
    with orch.uow() as uow:
        uow.session.add(Region(code="3578", name="Kota Surabaya", level="kota", timezone="Asia/Jakarta"))
        uow.commit()
    orch.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KSDPL_DATABASE_URL", url)
    monkeypatch.delenv("KSDPL_HANDLERS", raising=False)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(build_cli(), list(args))
        if ok:
            assert result.exit_code == 0, result.stderr
        else:
            assert result.exit_code == 1, result.stdout
            assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    run("init-db")
    run("deploy", str(ROOT / "processes/ksdpl.bpmn"), str(ROOT / "processes/kelayakan.dmn"))
    (tmp_path / "kajian.pdf").write_bytes(PDF)
    (tmp_path / "notulen.pdf").write_bytes(PDF)
    (tmp_path / "catatan.txt").write_text("bukan pdf")
    run.url = url  # type: ignore[attr-defined]
    return run


def next_task(output: str, element: str) -> str:
    match = re.search(rf"^next: (\S+)  {element}  ", output, re.MULTILINE)
    assert match, output
    return match[1]


def test_a_clerk_takes_a_ksdpl_case_past_stage_2_through_the_cli(ksdpl, tmp_path) -> None:
    start_form = ksdpl("form", "ksdpl").stdout
    assert "start form of ksdpl" in start_form
    assert "  jenis_kerja_sama (enum: ksdpl|ksdll) required" in start_form

    values = [arg for name, value in START.items() for arg in ("--var", f"{name}={value}")]
    case_id = ksdpl("start", "ksdpl", "--region", "3578", *values).stdout.strip()
    shown = json.loads(ksdpl("show", case_id, "--json").stdout)
    [penjajakan] = shown["tasks"]

    form = ksdpl("form", penjajakan["id"]).stdout
    assert f"task {penjajakan['id']}: " in form and "Task_Penjajakan" in form
    assert "  hasil_penjajakan (enum: sepakat|" in form and "  dokumen_penjajakan (file)" in form

    done = ksdpl(
        "complete",
        penjajakan["id"],
        "--var",
        "mekanisme_kunjungan_langsung=true",
        "--var",
        "hasil_penjajakan=sepakat",
        "--var",
        "uraian_penjajakan=Kunjungan delegasi",
        "--file",
        "dokumen_penjajakan=notulen.pdf",
    ).stdout
    assert done.startswith(f"case {case_id}: running, stage 2 (Penjajakan)")
    kajian = next_task(done, "Task_SusunKajian")
    assert re.search(r"^  dokumen_kajian \(file\) required", ksdpl("form", kajian).stdout, re.MULTILINE)

    # without its required file, or with a file that is not one of the allowed kinds: refused, nothing changed
    missing = ksdpl("complete", kajian, "--var", "ringkasan_kajian=Kajian persampahan", ok=False)
    assert "  dokumen_kajian: Wajib diisi" in missing.stderr
    wrong = ksdpl(
        "complete", kajian, "--var", "ringkasan_kajian=x", "--file", "dokumen_kajian=catatan.txt", ok=False
    )
    assert (
        "  dokumen_kajian: Jenis berkas tidak diizinkan (hanya PDF, DOC, DOCX, ODT, JPG, PNG)" in wrong.stderr
    )
    absent = ksdpl("complete", kajian, "--file", "dokumen_kajian=hilang.pdf", ok=False)
    assert "  dokumen_kajian: Berkas 'hilang.pdf' tidak ditemukan" in absent.stderr
    not_a_field = ksdpl(
        "complete", kajian, "--var", "ringkasan_kajian=x", "--file", "lampiran=kajian.pdf", ok=False
    )
    assert "  lampiran: Bukan isian berkas pada formulir ini" in not_a_field.stderr

    done = ksdpl(
        "complete",
        kajian,
        "--var",
        "ringkasan_kajian=Kajian persampahan",
        "--file",
        "dokumen_kajian=kajian.pdf",
    ).stdout
    check = next_task(done, "Task_PeriksaPersyaratan")
    # the form shows what the case already holds; the clerk sends it again
    check_form = ksdpl("form", check).stdout
    assert re.search(r'^  nama_mitra \(string\) required.*  now "Kitakyushu"$', check_form, re.MULTILINE), (
        check_form
    )
    known = [
        arg
        for name in ("nama_mitra", "negara_mitra", "tingkat_mitra")
        for arg in ("--var", f"{name}={START[name]}")
    ]
    prerequisites = [
        arg
        for name in (
            "urusan_pemerintah_daerah",
            "kesetaraan_status",
            "tanpa_kantor_perwakilan",
            "tidak_campur_tangan",
            "sesuai_rencana_pembangunan",
            "hibah_sesuai_ketentuan",
        )
        for arg in ("--var", f"{name}=true")
    ]
    ksdpl("complete", check, *prerequisites, *known)
    ksdpl("worker", "--once")
    shown = json.loads(ksdpl("show", case_id, "--json").stdout)
    assert (shown["stage"], [t["element"] for t in shown["tasks"]]) == (3, ["Task_SusunRancanganLoi"])

    orch = Orchestrator(ksdpl.url, registry)
    with orch.session() as s:
        stored = {d.field: (d.filename, d.content) for d in s.query(Document)}
    orch.close()
    assert stored == {"dokumen_penjajakan": ("notulen.pdf", PDF), "dokumen_kajian": ("kajian.pdf", PDF)}
    assert shown["variables"]["dokumen_kajian"] > 0

    # the start form has no file fields: a file for it is refused by name
    refused = ksdpl("start", "ksdpl", "--region", "3578", *values, "--file", "lampiran=kajian.pdf", ok=False)
    assert "  lampiran: Bukan isian berkas pada formulir ini" in refused.stderr
    assert ksdpl("form", "tidak-ada", ok=False).stderr.startswith("error: 'tidak-ada' is neither")


def test_token_create_list_and_revoke(ksdpl) -> None:
    orch = Orchestrator(ksdpl.url, registry)
    with orch.uow() as uow:
        uow.session.add(
            User(
                username="ani",
                name="Ani",
                password_hash="x",
                groups="pemda",
                region_code="3578",
                active=True,
                created_at=clock.now(),
            )
        )
        uow.commit()
    token = ksdpl("token", "create", "ani", "--name", "portal kementerian").stdout.strip()
    assert token.startswith("ksdpl_") and len(token) > 40
    listed = ksdpl("token", "list").stdout
    assert "ani" in listed and token[:12] in listed and "active" in listed and token not in listed
    client = create_app({"TESTING": True, "SECRET_KEY": "x", "KSDPL_ORCHESTRATOR": orch}).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert ksdpl("token", "revoke", "--user", "ani").stdout.strip() == "1 token(s) revoked"
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert "revoked" in ksdpl("token", "list", "--user", "ani").stdout
    assert "tidak ditemukan" in ksdpl("token", "create", "budi", ok=False).stderr
    assert "tidak ditemukan atau sudah dicabut" in ksdpl("token", "revoke", "1", ok=False).stderr
    orch.close()
