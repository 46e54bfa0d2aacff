"""The import in general, on small diagrams: routes and decisions derived from the diagram, rows
refused with the element and field named and nothing kept, the file format, idempotency, and
time moved for the importing thread only."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.errors import EngineError
from engine.imports import DirectoryDocuments
from engine.models import AuditEvent, Base, Document, ImportedCase, Instance, Task
from engine.service import Orchestrator

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2027, 5, 3, 10, 0, tzinfo=WIB)  # Monday
PDF = b"%PDF-1.4\n%%EOF\n"

# Start -> Pilih (jalur: darat | laut | udara) -> darat: Darat, laut: Laut (both on to Tiba),
# udara: the case ends.
JALAN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_jalan" targetNamespace="http://bpmn.io/schema/bpmn" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.24.0">
  <bpmn:process id="jalan" name="Jalan" isExecutable="true">
    <bpmn:startEvent id="Mulai">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="judul" label="Judul" type="string"><camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>F1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Pilih" name="Pilih jalur" camunda:candidateGroups="pemda">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="jalur" label="Jalur" type="enum">
          <camunda:value id="darat" name="Darat" /><camunda:value id="laut" name="Laut" /><camunda:value id="udara" name="Udara" />
          <camunda:validation><camunda:constraint name="required" /></camunda:validation>
        </camunda:formField>
        <camunda:formField id="bukti" label="Bukti" type="file" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Jalur"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing><bpmn:outgoing>F4</bpmn:outgoing><bpmn:outgoing>F5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Darat" name="Jalan darat" camunda:candidateGroups="pemda">
      <bpmn:extensionElements><camunda:formData><camunda:formField id="kendaraan" label="Kendaraan" type="string" /></camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Laut" name="Jalan laut" camunda:candidateGroups="pemda">
      <bpmn:extensionElements><camunda:formData><camunda:formField id="kapal" label="Kapal" type="string" /></camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F4</bpmn:incoming><bpmn:outgoing>F7</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gabung"><bpmn:incoming>F6</bpmn:incoming><bpmn:incoming>F7</bpmn:incoming><bpmn:outgoing>F8</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Tiba" name="Tiba" camunda:candidateGroups="pemda"><bpmn:incoming>F8</bpmn:incoming><bpmn:outgoing>F9</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="Selesai"><bpmn:incoming>F9</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Terbang"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Mulai" targetRef="Pilih" />
    <bpmn:sequenceFlow id="F2" sourceRef="Pilih" targetRef="Jalur" />
    <bpmn:sequenceFlow id="F3" sourceRef="Jalur" targetRef="Darat"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${jalur == "darat"}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F4" sourceRef="Jalur" targetRef="Laut"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${jalur == "laut"}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F5" sourceRef="Jalur" targetRef="Terbang"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${jalur == "udara"}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F6" sourceRef="Darat" targetRef="Gabung" />
    <bpmn:sequenceFlow id="F7" sourceRef="Laut" targetRef="Gabung" />
    <bpmn:sequenceFlow id="F8" sourceRef="Gabung" targetRef="Tiba" />
    <bpmn:sequenceFlow id="F9" sourceRef="Tiba" targetRef="Selesai" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def orch(deployed) -> Orchestrator:
    deployed.deploy({"jalan.bpmn": JALAN}, user="analis")
    clock.set(NOW)
    return deployed


def run(orch: Orchestrator, folder: Path, text: str, process: str = "jalan", **options):
    path = folder / "lama.csv"
    path.write_text(text, encoding="utf-8")
    return orch.import_csv(
        path.read_bytes(), path.name, DirectoryDocuments(folder), process_key=process, user="op", **options
    )


def one(orch, folder, text, process="jalan", **options):
    [row] = run(orch, folder, text, process, **options).rows
    return row


def database(orch: Orchestrator) -> dict[str, list[tuple]]:
    with orch.session() as s:
        return {
            table.name: [tuple(r) for r in s.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


JALAN_HEAD = "business_key,region,target,judul,jalur,bukti,kendaraan,kapal,tanggal_Mulai,tanggal_Pilih"


def test_a_blank_decision_takes_the_only_branch_toward_the_target(orch, tmp_path):
    row = one(orch, tmp_path, f"{JALAN_HEAD}\nJ-1,3171,Laut,Ke pulau,,,,,2027-04-01,2027-04-05\n")
    assert (row.status, row.waiting) == ("created", ["Jalan laut"])
    with orch.session() as s:
        pilih = s.scalars(select(Task).where(Task.bpmn_id == "Pilih")).one()
    assert json.loads(pilih.submitted)["jalur"] == "laut"
    assert pilih.completed_at == datetime(2027, 4, 5, 9, 0, tzinfo=WIB) and pilih.completed_by == "op"


def test_a_decision_two_branches_share_must_be_given(orch, tmp_path):
    before = database(orch)
    row = one(orch, tmp_path, f"{JALAN_HEAD}\nJ-2,3171,Tiba,Ke kota,,,,,2027-04-01,2027-04-05\n")
    assert (row.status, row.element, row.field) == ("refused", "Pilih", "jalur")
    assert row.message == "Keputusan 'jalur' belum diisi: darat dan laut sama-sama menuju Tiba; isi kolom ini"
    assert database(orch) == before
    given = one(orch, tmp_path, f"{JALAN_HEAD}\nJ-2,3171,Tiba,Ke kota,darat,,Bus,,2027-04-01,2027-04-05\n")
    assert (given.status, given.waiting) == ("created", ["Tiba"])


def test_templates_follow_the_diagram(orch):
    assert orch.import_template("Laut", "jalan") == [
        "business_key", "region", "target", "judul", "tanggal_Mulai", "bukti", "tanggal_Pilih",
    ]  # fmt: skip
    # two branches lead to Tiba: the decision is a column, and the shortest branch is listed
    assert orch.import_template("Tiba", "jalan") == [
        "business_key", "region", "target", "judul", "tanggal_Mulai", "jalur", "bukti", "tanggal_Pilih",
        "kendaraan", "tanggal_Darat",
    ]  # fmt: skip
    # a second round of the draft: the review in between defaults to "revisi"
    assert orch.import_template("Draft@2", "review") == [
        "business_key", "region", "target", "judul", "tanggal_StartEvent_1", "isi", "jumlah", "tanggal_Draft",
        "tanggal_Review",
    ]  # fmt: skip
    with pytest.raises(EngineError, match="'Selesai' bukan tugas pengguna"):
        orch.import_template("Selesai", "jalan")


def test_a_loop_is_replayed_round_by_round(orch, tmp_path, calls):
    head = (
        "business_key,region,target,judul,isi,jumlah,isi@2,tanggal_StartEvent_1,tanggal_Draft,tanggal_Review"
    )
    row = one(
        orch,
        tmp_path,
        f"{head}\nR-1,3171,Draft@2,Laporan,Draf pertama,3,,2027-04-01,2027-04-01,2027-04-02\n",
        "review",
    )
    assert (row.status, row.waiting, row.target) == ("created", ["Susun draf"], "Draft@2")
    with orch.session() as s:
        draft = s.scalars(select(Task).where(Task.bpmn_id == "Draft", Task.status == "ready")).one()
        review = s.scalars(select(Task).where(Task.bpmn_id == "Review")).one()
    assert json.loads(review.submitted) == {"keputusan": "revisi"}
    assert draft.created_at == datetime(2027, 4, 2, 9, 0, tzinfo=WIB)
    assert len(calls.score) == 1  # the job between draft and review ran once, at its moment


def test_a_failing_system_step_refuses_the_row_and_keeps_nothing(orch, tmp_path, calls):
    calls.fail_times = 5
    before = database(orch)
    head = "business_key,region,target,judul,isi,tanggal_Draft"
    row = one(orch, tmp_path, f"{head}\nR-2,3171,Review,Laporan,Draf,2027-04-01\n", "review")
    assert (row.status, row.element) == ("refused", "Score")
    assert row.message == "Proses sistem gagal: Hitung skor: RuntimeError: layanan skor tidak menjawab"
    assert database(orch) == before


def test_a_deadline_that_passed_is_no_place_to_wait(orch, tmp_path):
    """The review had three working days; a case waiting since March is deemed approved today."""
    head = "business_key,region,target,judul,isi,tanggal_Draft"
    row = one(orch, tmp_path, f"{head}\nR-3,3171,Review,Laporan,Draf,2027-03-01\n", "review")
    assert (row.status, row.element) == ("refused", "Review")
    assert (
        row.message
        == "Sampai hari ini kasus tidak lagi menunggu di Review: sekarang sudah berakhir (Keputusan)"
    )


@pytest.mark.parametrize(
    ("cells", "element", "field", "message"),
    [
        ("Pos,Laut,Judul,,,,,2027-04-01,2027-04-05", None, "region", "Wilayah 'Pos' tidak dikenal"),
        ("3171,Laut,,,,,,2027-04-01,2027-04-05", "Mulai", "judul", "judul: Wajib diisi"),
        ("3171,Terbang,Judul,,,,,2027-04-01,", None, "target", "'Terbang' bukan tugas pengguna"),
        ("3171,Laut,Judul,,,,,2027-04-01,2027-03-31", "Pilih", "tanggal_Pilih", "sebelum langkah sebelumnya"),
        (
            "3171,Laut,Judul,,,,,2027-04-01,2027-05-04",
            "Pilih",
            "tanggal_Pilih",
            "setelah hari ini (3 Mei 2027)",
        ),
        ("3171,Laut,Judul,,,,,2027-04-01,5/4/2027", "Pilih", "tanggal_Pilih", "format TTTT-BB-HH"),
        ("3171,Laut,Judul,,tidak-ada.pdf,,,,", "Pilih", "bukti", "Berkas 'tidak-ada.pdf' tidak ditemukan"),
        ("3171,Laut,Judul,,../rahasia.pdf,,,,", "Pilih", "bukti", "harus berada di folder berkas CSV"),
        ("3171,Laut,Judul,,catatan.txt,,,,", "Pilih", "bukti", "Jenis berkas tidak diizinkan"),
        ("3171,Laut,Judul,,palsu.pdf,,,,", "Pilih", "bukti", "Isi berkas tidak sesuai dengan jenis .pdf"),
        ("3171,Laut,Judul,udara,,,,,", None, "target", "Kasus berakhir (selesai) sebelum sampai di Laut"),
        ("3171,Laut,Judul,,,,,2027-04-01,2027-04-05", "Darat", "tanggal_Darat", None),
        (
            "3171,Tiba,Judul,laut,,,,,",
            "Laut",
            None,
            "baris ini tidak mengisi tugas itu (kolom kapal, tanggal_Laut)",
        ),
    ],
)
def test_a_refused_row_names_element_and_field_and_keeps_nothing(
    orch, tmp_path, cells, element, field, message
):
    (tmp_path / "catatan.txt").write_text("bukan dokumen")
    (tmp_path / "palsu.pdf").write_text("<html>")
    (tmp_path.parent / "rahasia.pdf").write_bytes(PDF)
    head = JALAN_HEAD
    if element == "Darat":  # a date for a task the case never passes on its way to Laut
        head, cells = f"{JALAN_HEAD},tanggal_Darat", f"{cells},2027-04-06"
        message = "Tanggal diisi, tetapi tugas ini tidak dilalui sebelum kasus sampai di target"
    before = database(orch)
    row = one(orch, tmp_path, f"{head}\nJ-9,{cells}\n")
    assert (row.status, row.element, row.field) == ("refused", element, field), row.message
    assert message in row.message
    assert database(orch) == before


def test_the_file_must_be_understood_whole(orch, tmp_path):
    with pytest.raises(EngineError, match=r"Kolom tidak dikenal: tanggal_Tidak, catatan_lain"):
        run(orch, tmp_path, "business_key,region,target,judul,tanggal_Tidak,catatan_lain\n")
    with pytest.raises(EngineError, match="Kolom 'judul@1' muncul dua kali"):
        run(orch, tmp_path, "business_key,region,target,judul,judul@1\n")
    with pytest.raises(EngineError, match="bukan teks UTF-8"):
        orch.import_csv(
            "judul\n\xe9".encode("latin-1"), "x.csv", DirectoryDocuments(tmp_path), process_key="jalan"
        )
    with pytest.raises(EngineError, match="Berkas kosong"):
        run(orch, tmp_path, "")
    with pytest.raises(EngineError, match="Sebutkan prosesnya"):
        orch.import_csv(b"business_key\n", "x.csv", DirectoryDocuments(tmp_path))


def test_semicolons_documents_and_blank_lines_as_a_spreadsheet_saves_them(orch, tmp_path):
    (tmp_path / "lampiran").mkdir()
    (tmp_path / "lampiran" / "Bukti kapal.pdf").write_bytes(PDF)
    text = (
        "\ufeffbusiness_key;region;target;judul;jalur;bukti;tanggal_Pilih\n"
        "J-3;9171;Laut;Ke pulau; ;lampiran/Bukti kapal.pdf;2027-04-05\n"
        ";;;;;;\n"
        "J-3;9171;Laut;Lagi;;;2027-04-05\n"
    )
    report = run(orch, tmp_path, text)
    assert [(r.row, r.status) for r in report.rows] == [(2, "created"), (4, "refused")]
    assert report.rows[1].message == "Kunci 'J-3' sudah dipakai baris 2"
    with orch.session() as s:
        document = s.scalars(select(Document)).one()
        instance = s.get(Instance, report.rows[0].instance_id)
    assert (document.filename, document.content_type, document.field) == (
        "Bukti kapal.pdf",
        "application/pdf",
        "bukti",
    )
    # no date for the start: the case starts on the first date the row gives, in its region's zone (WIT)
    assert instance.started_at == datetime(2027, 4, 5, 0, 0, tzinfo=UTC)


def test_importing_again_adds_nothing_until_the_case_is_cancelled(orch, tmp_path):
    text = f"{JALAN_HEAD}\nJ-4,3171,Laut,Ke pulau,,,,,2027-04-01,2027-04-05\n"
    first = one(orch, tmp_path, text)
    again = one(orch, tmp_path, text)
    assert (again.status, again.instance_id, again.message) == (
        "skipped", first.instance_id, f"Sudah ada sebagai kasus {first.instance_id}"
    )  # fmt: skip
    orch.cancel(first.instance_id, user="op")
    third = one(orch, tmp_path, text)
    assert third.status == "created" and third.instance_id != first.instance_id
    with orch.session() as s:
        assert [(r.business_key, r.instance_id) for r in s.scalars(select(ImportedCase))] == [
            ("J-4", third.instance_id)
        ]


def test_a_dry_run_reports_and_keeps_nothing(orch, tmp_path):
    before = database(orch)
    text = f"{JALAN_HEAD}\nJ-5,3171,Laut,Ke pulau,,,,,2027-04-01,2027-04-05\nJ-6,3171,Tiba,Ke kota,,,,,,\n"
    report = run(orch, tmp_path, text, check=True)
    assert [(r.status, r.instance_id, r.waiting) for r in report.rows] == [
        ("valid", None, ["Jalan laut"]),
        ("refused", None, []),
    ]
    assert database(orch) == before


def test_two_importers_of_one_file_make_one_case_per_key(orch, tmp_path):
    text = "".join(f"J-{n},3171,Laut,Ke pulau {n},,,,,2027-04-01,2027-04-05\n" for n in range(10, 16))
    (tmp_path / "lama.csv").write_text(f"{JALAN_HEAD}\n{text}", encoding="utf-8")
    reports = []

    def importer() -> None:
        other = Orchestrator(orch.database_url, orch.registry)
        try:
            reports.append(
                other.import_csv(
                    (tmp_path / "lama.csv").read_bytes(),
                    "lama.csv",
                    DirectoryDocuments(tmp_path),
                    process_key="jalan",
                )
            )
        finally:
            other.close()

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status for report in reports for r in report.rows)
    assert statuses == ["created"] * 6 + ["skipped"] * 6
    with orch.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 6
        assert s.scalar(select(func.count(ImportedCase.id))) == 6


def test_time_moves_for_the_importing_thread_only(orch, tmp_path):
    seen: list[datetime] = []
    inside = threading.Event()
    proceed = threading.Event()

    def pause(_instance_id: int) -> None:  # inside the import's step: its clock stands in April 2027
        seen.append(clock.now())
        inside.set()
        proceed.wait(10)

    orch.after_load = pause
    worker = threading.Thread(
        target=one, args=(orch, tmp_path, f"{JALAN_HEAD}\nJ-7,3171,Laut,Ke pulau,,,,,2027-04-01,2027-04-05\n")
    )
    worker.start()
    assert inside.wait(10)
    seen.append(clock.now())
    proceed.set()
    worker.join()
    assert seen == [datetime(2027, 4, 5, 9, 0, tzinfo=WIB), NOW] and clock.now() == NOW
    with orch.session() as s:
        assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "complete")) == 1


def test_a_step_done_today_is_never_replayed_after_now(orch, tmp_path):
    """Imported at 07:30: steps of today happen now, not at 09:00 later today."""
    early = datetime(2027, 5, 3, 7, 30, tzinfo=WIB)
    clock.set(early)
    row = one(orch, tmp_path, f"{JALAN_HEAD}\nJ-8,3171,Laut,Ke pulau,,,,,,2027-05-03\n")
    assert row.status == "created", row.message
    with orch.session() as s:
        instance = s.get(Instance, row.instance_id)
        pilih = s.scalars(select(Task).where(Task.bpmn_id == "Pilih")).one()
        latest = s.scalar(select(func.max(AuditEvent.at)))
    assert instance.started_at == pilih.completed_at == latest == early


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_importer_that_finds_the_key_taken_at_record_skips_the_row(orch, tmp_path, monkeypatch):
    """Both importers pass the first look for the key before either commits; the first commits
    its case, then the second records the key: it must see the live case and skip, not take the
    key over (the race test above hits this only now and then)."""
    from engine import imports

    (tmp_path / "lama.csv").write_text(f"{JALAN_HEAD}\nJ-20,3171,Laut,Ke pulau,,,,,2027-04-01,2027-04-05\n")
    both_checked, first_committed = threading.Barrier(2, timeout=30), threading.Event()
    record, import_row = imports._Replay.record, Orchestrator._import_row

    def racing_record(self) -> None:
        both_checked.wait()
        if threading.current_thread().name == "second":
            assert first_committed.wait(timeout=30)
        record(self)

    def signalling_import_row(self, *args, **kwargs):
        try:
            return import_row(self, *args, **kwargs)
        finally:
            if threading.current_thread().name == "first":
                first_committed.set()

    monkeypatch.setattr(imports._Replay, "record", racing_record)
    monkeypatch.setattr(Orchestrator, "_import_row", signalling_import_row)
    reports = {}

    def importer() -> None:
        other = Orchestrator(orch.database_url, orch.registry)
        try:
            content = (tmp_path / "lama.csv").read_bytes()
            reports[threading.current_thread().name] = other.import_csv(
                content, "lama.csv", DirectoryDocuments(tmp_path), process_key="jalan"
            )
        finally:
            other.close()

    threads = [threading.Thread(target=importer, name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in reports["first"].rows] == ["created"]
    assert [r.status for r in reports["second"].rows] == ["skipped"]
    with orch.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 1
        assert s.scalar(select(ImportedCase.instance_id)) == reports["first"].rows[0].instance_id
