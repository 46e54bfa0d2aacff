"""The staff pages of issue 12 in Chromium: drafts across a logout, a comment with a completion, an
oversize upload that keeps the form, PDFs inline, the case list's search and one clock for national
users, the start form's small fixes, an axe-core check of the main pages, and the README pictures
at 1280 and 390 px wide."""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.models import Comment, Document
from tests.web.conftest import PASSWORD, PDF, actor, app_config, ready_task, start_case, to_dprd
from tests.web.test_browser import (  # noqa: F401  (browser and ksdpl_orch are fixtures)
    ROOT,
    LiveServer,
    Staff,
    browser,
    ksdpl_orch,
    make_files,
    production_like,
    save_screenshot,
)
from web import create_app

pytestmark = pytest.mark.browser

AXE_VERSION = "4.10.3"
AXE_DIR = ROOT / ".cache" / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
MONDAY = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


def png(width: int = 4, height: int = 4) -> bytes:
    """A real (tiny, blue) PNG, so the browser has something to draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x0b\x53\x94" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def logout(staff: Staff) -> None:
    with staff.page.expect_navigation():
        staff.page.click("button:has-text('Keluar')")


def test_a_draft_survives_logging_out_and_in(browser, orch):
    case = start_case(orch)
    task_id = ready_task(orch, case, "Penjajakan")
    with LiveServer(production_like(orch, "uji")) as server:
        pemda = Staff(browser, server.url, "pemda_a")
        pemda.open_task("Catat penjajakan")
        pemda.fill({"hasil_penjajakan": "Dua pertemuan; notulen menyusul.", "jumlah_pertemuan": "2"})
        pemda.page.fill("#f-komentar", "Tunggu notulen dari Fukuoka.")
        with pemda.page.expect_navigation():
            pemda.page.click("button:has-text('Simpan draf')")
        assert "Draf disimpan pada" in pemda.page.inner_text("main")
        logout(pemda)
        pemda.close()

        again = Staff(browser, server.url, "pemda_a")
        again.go(f"{server.url}/tugas/{task_id}")
        assert again.page.input_value("[name='hasil_penjajakan']") == "Dua pertemuan; notulen menyusul."
        assert again.page.input_value("[name='jumlah_pertemuan']") == "2"
        assert again.page.input_value("#f-komentar") == "Tunggu notulen dari Fukuoka."
        assert "dipulihkan" in again.page.inner_text("main")
        again.close()


def test_a_comment_is_saved_with_the_completion(browser, orch, tmp_path):
    files = make_files(tmp_path, "kajian.pdf")
    case = start_case(orch)
    with LiveServer(production_like(orch, "uji")) as server:
        pemda = Staff(browser, server.url, "pemda_a")
        pemda.open_task("Catat penjajakan")
        pemda.fill(
            {
                "tanggal_penjajakan": "2027-04-20",
                "jumlah_pertemuan": "3",
                "hasil_penjajakan": "Sepakat.",
                "kode_surat": "B/1/2027",
                "sepakat": True,
                "kajian": files["kajian.pdf"],
            }
        )
        pemda.page.fill("#f-komentar", "Notulen terlampir pada kajian.")
        text = pemda.submit()
        assert "Tugas «Catat penjajakan» selesai. Komentar disimpan." in text
        assert "Notulen terlampir pada kajian." in pemda.page.inner_text("#komentar")
        pemda.close()
    with orch.session() as s:
        comment = s.scalars(select(Comment)).one()
        assert comment.instance_id == case and comment.task_id is not None


def test_a_refused_oversize_upload_keeps_the_other_values(browser, orch, tmp_path):
    big = tmp_path / "besar.pdf"
    big.write_bytes(b"%PDF-" + b"0" * 8000)
    case = start_case(orch)
    ready_task(orch, case, "Penjajakan")
    app = create_app(
        app_config(
            orch,
            TESTING=False,
            WTF_CSRF_ENABLED=True,
            KSDPL_PROCESS_KEY="uji",
            KSDPL_MAX_UPLOAD_BYTES=1024,
            MAX_CONTENT_LENGTH=4096,
        )
    )
    with LiveServer(app) as server:
        pemda = Staff(browser, server.url, "pemda_a")
        pemda.open_task("Catat penjajakan")
        typed = {
            "hasil_penjajakan": "Sepakat; tiga pertemuan.",
            "kode_surat": "B/9/2027",
            "jumlah_pertemuan": "3",
        }
        pemda.fill(typed)
        # the browser refuses the file as soon as it is chosen: nothing is sent
        pemda.fill({"kajian": str(big)})
        assert pemda.page.inner_text("#e-kajian").startswith("Berkas terlalu besar (paling besar 1 KB)")
        assert pemda.page.input_value("[name='kajian']") == ""
        for field_id, value in typed.items():
            assert pemda.page.input_value(f"[name='{field_id}']") == value

        # a browser that does not check (attributes removed): the server answers 413 with the form,
        # the message beside the file field, and the typed values put back
        pemda.page.evaluate(
            "document.querySelectorAll('[data-max-bytes]').forEach(e => e.removeAttribute('data-max-bytes'));"
            "document.querySelector('form.task-form').removeAttribute('data-max-total');"
        )
        pemda.fill({"kajian": str(big)})
        pemda.page.fill("#f-komentar", "Komentar yang tidak boleh hilang.")
        with pemda.page.expect_navigation() as navigation:
            pemda.page.click("form.task-form button.primary")
        assert navigation.value.status == 413
        assert pemda.page.inner_text("#e-kajian").startswith("Kiriman terlalu besar")
        assert "Kiriman melebihi batas ukuran" in pemda.page.inner_text("main")
        for field_id, value in typed.items():
            assert pemda.page.input_value(f"[name='{field_id}']") == value
        assert pemda.page.input_value("#f-komentar") == "Komentar yang tidak boleh hilang."
        pemda.close()


def test_a_pdf_and_an_image_open_in_the_browser(browser, orch):
    case, _task = to_dprd(orch, "pemda_a")
    image_id = orch.add_document(case, "peta.png", "image/png", png(), actor("pemda_a"), field="peta")
    with orch.session() as s:
        pdf_id = s.scalar(select(Document.id).where(Document.filename == "kajian.pdf"))
    with LiveServer(production_like(orch, "uji")) as server:
        pemda = Staff(browser, server.url, "pemda_a")
        pemda.go(f"{server.url}/kasus/{case}")
        link = pemda.page.locator(f"#dokumen a[href='/dokumen/{pdf_id}']")
        assert link.get_attribute("target") == "_blank"
        response = pemda.context.request.get(f"{server.url}/dokumen/{pdf_id}")
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("inline;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("sandbox;")
        assert response.body() == PDF
        # and Chromium shows it in its PDF viewer (the sandbox CSP allows that), not as a download
        downloads: list = []
        pemda.page.on("download", lambda download: downloads.append(download))
        pemda.go(f"{server.url}/dokumen/{pdf_id}")
        for _ in range(100):  # the viewer's frame is attached after the load event
            if any(frame.url.startswith("chrome-extension://") for frame in pemda.page.frames):
                break
            pemda.page.wait_for_timeout(100)
        assert any(frame.url.startswith("chrome-extension://") for frame in pemda.page.frames), [
            frame.url for frame in pemda.page.frames
        ]
        assert downloads == []
        # the image is drawn by the browser, not downloaded
        pemda.go(f"{server.url}/dokumen/{image_id}")
        assert pemda.page.evaluate("document.images.length === 1 && document.images[0].naturalWidth") == 4
        pemda.close()


def test_the_case_list_finds_a_case_by_partner_and_national_users_read_one_zone(browser, orch):
    start_case(orch, "pemda_a")
    start_case(orch, "pemda_b", nama_mitra="Kota Busan", judul_kerja_sama="Pendidikan vokasi")
    with LiveServer(production_like(orch, "uji")) as server:
        national = Staff(browser, server.url, "kemendagri")
        national.page.click("nav >> text=Daftar kasus")
        table = national.page.inner_text("table.cases")
        assert "Kota Busan" in table and "Kota Fukuoka" in table
        assert "WIT" not in table.replace("WITA", "") and "WIB" in table  # Kota B is in WIT
        assert "Waktu dalam WIB" in table
        national.page.fill("#q", "busan")
        with national.page.expect_navigation():
            national.page.click("form.case-search button[type=submit]")
        rows = national.page.locator("table.cases tbody tr")
        assert rows.count() == 1 and "Pendidikan vokasi" in rows.first.inner_text()
        assert "1 kasus" in national.page.inner_text("#case-count")
        national.close()


def test_the_start_form_hides_the_ksdll_field_and_writes_codes_in_capitals(browser, ksdpl_orch):
    with LiveServer(production_like(ksdpl_orch, "ksdpl")) as server:
        pemda = Staff(browser, server.url, "pemda.bandung")
        pemda.page.click("nav >> text=Kasus baru")
        institution = pemda.page.locator("[data-only-when='jenis_kerja_sama']")
        assert institution.is_hidden()
        pemda.page.select_option("[name='jenis_kerja_sama']", "ksdll")
        assert institution.is_visible()
        pemda.page.select_option("[name='jenis_kerja_sama']", "ksdpl")
        assert institution.is_hidden()
        pemda.page.fill("[name='negara_mitra']", "jp")
        pemda.page.press("[name='negara_mitra']", "Tab")
        assert pemda.page.input_value("[name='negara_mitra']") == "JP"
        pemda.close()


# --- accessibility and small screens --------------------------------------------------------------


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core from the npm registry, installed once into .cache/axe (git-ignored)."""
    if not AXE.exists():
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(AXE_DIR),
                "--no-audit",
                "--no-fund",
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE.read_text(encoding="utf-8")


def axe_problems(page, source: str) -> list[str]:
    """Serious and critical axe-core violations (WCAG 2.1 A/AA) on the page as it is."""
    page.add_script_tag(content=source)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}); return JSON.stringify(r.violations); }"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in json.loads(result)
        if v["impact"] in ("serious", "critical")
    ]


class Viewer(Staff):
    """A person at a browser of a given width; axe runs need the page's CSP bypassed (injection)."""

    def __init__(self, browser, base_url: str, username: str, width: int = 1280) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, locale="id-ID", bypass_csp=True
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.base = base_url
        self.page.goto(f"{base_url}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button:has-text('Masuk')")
        self.page.wait_for_url(f"{base_url}/")


PICTURES = {"inbox": "staff-inbox", "task": "staff-task", "case": "staff-case", "cases": "staff-case-list"}


def screenshot(page, name: str) -> None:
    save_screenshot(page, name)


def test_main_pages_pass_axe_and_work_at_390_px(browser, orch, axe_source):
    case, dprd_task = to_dprd(orch, "pemda_a")
    start_case(orch, "pemda_a", nama_mitra="Kota Busan", judul_kerja_sama="Pendidikan vokasi")
    orch.add_comment(case, "Kajian sudah lengkap.", actor("pemda_a"))
    with LiveServer(production_like(orch, "uji")) as server:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="id-ID", bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{server.url}/login")
        problems = {"login": axe_problems(page, axe_source)}
        context.close()

        pages = {
            "inbox": "/",
            "task": f"/tugas/{dprd_task}",
            "case": f"/kasus/{case}",
            "cases": "/kasus",
        }
        for width, suffix in ((1280, ""), (390, "-390")):
            dprd = Viewer(browser, server.url, "dprd_a", width)
            for name, path in pages.items():
                dprd.go(f"{server.url}{path}")
                if name == "case":
                    closed = dprd.page.locator("details.section:not([open]) > summary")
                    while closed.count():
                        closed.first.click()  # every section open, for axe and for the picture
                problems[f"{name}{suffix}"] = axe_problems(dprd.page, axe_source)
                if width == 390:
                    # nothing wider than the screen: no sideways scrolling on a phone
                    overflow = dprd.page.evaluate("document.documentElement.scrollWidth")
                    assert overflow <= 392, f"{name} is {overflow} px wide at 390"
                screenshot(dprd.page, f"{PICTURES[name]}{suffix}.png")
            dprd.close()
        # keyboard: the first tab stops reach the main menu; the focus is visible
        keyboard = Viewer(browser, server.url, "dprd_a")
        keyboard.page.keyboard.press("Tab")
        keyboard.page.keyboard.press("Tab")
        focused = keyboard.page.evaluate("document.activeElement.textContent.trim()")
        assert focused in ("Kotak masuk", "KSDPL Kerja Sama Daerah Luar Negeri")
        outline = keyboard.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        keyboard.close()
    assert {name: found for name, found in problems.items() if found} == {}
