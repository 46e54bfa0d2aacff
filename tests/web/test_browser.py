"""Staff in a real browser: Chromium (Debian's, headless) driven by Playwright against the real app
served over HTTP from a thread, with CSRF on and production cookie settings.

The first test runs the small `uji` process; the second runs the KSDPL diagram with its handlers
(stages 1-4 with uploads, DPRD approval, a Kemendagri revision and acceptance). Both save the
README screenshots in docs/; the KSDPL one runs last, so its pictures are the ones kept.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from werkzeug.serving import make_server

from engine.clock import clock
from engine.models import Document, Instance, Region, Task
from engine.service import Orchestrator
from tests.web.conftest import PASSWORD, PDF, app_config, new_account
from web import create_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("KSDPL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("KSDPL_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class LiveServer:
    """The app on 127.0.0.1 in a background thread, as `ksdpl serve` would serve it."""

    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def production_like(orch: Orchestrator, process_key: str):
    """CSRF on, Secure + HttpOnly + SameSite cookies (Chromium accepts Secure on 127.0.0.1)."""
    return create_app(app_config(orch, TESTING=False, WTF_CSRF_ENABLED=True, KSDPL_PROCESS_KEY=process_key))


class Staff:
    """One person at one browser: logs in, finds a task, fills its form, reads what happens next."""

    def __init__(self, browser, base_url: str, username: str, password: str = PASSWORD) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.base = base_url
        self.page.goto(f"{base_url}/")
        assert "/login" in self.page.url  # anonymous: sent to the login page
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button:has-text('Masuk')")
        self.page.wait_for_url(f"{base_url}/")

    def go(self, url: str) -> None:
        """Open a page. A case or task page left open reloads itself when the case moves on
        (`console/live.js`); a reload at the same moment aborts this navigation (Chromium says
        ERR_ABORTED, or Playwright that it was interrupted by another navigation), so go again."""
        try:
            self.page.goto(url)
        except PlaywrightError as err:
            if not any(sign in str(err) for sign in ("ERR_ABORTED", "interrupted by another navigation")):
                raise
            self.page.goto(url)

    def open_task(self, name: str) -> None:
        """From the inbox, open the task with this name."""
        self.go(f"{self.base}/")
        self.page.click(f"table.inbox a:has-text('{name}')")
        self.page.wait_for_selector("form.task-form")

    def fill(self, values: dict[str, str | bool]) -> None:
        for field_id, value in values.items():
            selector = f"[name='{field_id}']"
            kind = self.page.get_attribute(selector, "type") or ""
            if isinstance(value, bool):
                self.page.set_checked(selector, value)
            elif kind == "file":
                self.page.set_input_files(selector, value)
            elif self.page.locator(f"select{selector}").count():
                self.page.select_option(selector, value)
            else:
                self.page.fill(selector, value)

    def submit(self) -> str:
        """Send the form; returns the page text after the redirect (flash messages included)."""
        with self.page.expect_navigation():
            self.page.click("form.task-form button[type=submit]")
        return self.page.inner_text("main")

    def close(self) -> None:
        self.context.close()


def save_screenshot(page, name: str, keep_existing: bool = False) -> None:
    """README pictures, written to docs/ only when KSDPL_SCREENSHOTS is set (a test run otherwise
    leaves the checkout as it found it; the page is still rendered to a scratch folder). The small
    test process only fills a gap; the KSDPL run always overwrites."""
    folder = (
        DOCS if os.environ.get("KSDPL_SCREENSHOTS") else Path(tempfile.gettempdir()) / "ksdpl-screenshots"
    )
    path = folder / name
    if keep_existing and path.exists():
        return
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def make_files(tmp_path: Path, *names: str) -> dict[str, str]:
    files = {}
    for name in names:
        path = tmp_path / name
        path.write_bytes(PDF)
        files[name] = str(path)
    return files


# --- the small test process: every form type, a revision loop ---------------------------------------


def test_a_case_through_the_browser(browser, orch, tmp_path):
    clock.set(datetime(2027, 5, 3, 2, 0, tzinfo=UTC))
    files = make_files(tmp_path, "kajian.pdf")
    with LiveServer(production_like(orch, "uji")) as server:
        pemda = Staff(browser, server.url, "pemda_a")
        cookies = {c["name"]: c for c in pemda.context.cookies()}
        assert cookies["session"]["httpOnly"] and cookies["session"]["secure"]
        assert cookies["session"]["sameSite"] == "Lax"

        pemda.page.click("nav >> text=Kasus baru")
        pemda.fill(
            {
                "judul_kerja_sama": "Kerja sama kota kembar",
                "nama_mitra": "Kota Fukuoka",
                "negara_mitra": "Jepang",
                "jenis_kerja_sama": "KSDPL",
                "sumber_prakarsa": "daerah",
            }
        )
        text = pemda.submit()
        assert "Kasus baru dimulai" in text and "Catat penjajakan" in text

        # server-side checks, shown in Indonesian next to the fields, what was typed kept
        pemda.open_task("Catat penjajakan")
        pemda.fill({"tanggal_penjajakan": "2027-04-20", "jumlah_pertemuan": "99", "kode_surat": "B/1/2027"})
        text = pemda.submit()
        assert "Wajib diisi" in pemda.page.inner_text("#e-hasil_penjajakan")
        assert pemda.page.inner_text("#e-jumlah_pertemuan") == "Paling besar 50"
        assert pemda.page.inner_text("#e-kajian") == "Wajib diisi"
        assert pemda.page.input_value("[name='kode_surat']") == "B/1/2027"

        pemda.fill(
            {
                "jumlah_pertemuan": "3",
                "hasil_penjajakan": "Sepakat menjajaki <b>pendidikan</b>.",
                "sepakat": True,
                "kajian": files["kajian.pdf"],
            }
        )
        save_screenshot(pemda.page, "task-form.png", keep_existing=True)
        text = pemda.submit()
        assert "Tugas «Catat penjajakan» selesai." in text
        assert "Menunggu persetujuan DPRD (DPRD), batas 13 Juli 2027 WIB (45 hari kerja lagi)" in text
        history = " ".join(pemda.page.locator("ol.history details").all_text_contents())
        assert "Sepakat menjajaki <b>pendidikan</b>." in history  # escaped: shown as typed
        assert pemda.page.locator("main b").count() == 0
        with pemda.page.expect_download() as download:
            pemda.page.click("a[href$='unduh=1'] >> nth=0")  # the PDF itself opens in the browser
        assert Path(download.value.path()).read_bytes() == PDF
        pemda.close()

        dprd = Staff(browser, server.url, "dprd_a")
        assert "Persetujuan DPRD" in dprd.page.inner_text("table.inbox")
        save_screenshot(dprd.page, "inbox.png", keep_existing=True)
        dprd.open_task("Persetujuan DPRD")
        dprd.fill({"keputusan_dprd": "setuju"})
        assert "Menunggu verifikasi rencana (Kementerian Dalam Negeri)" in dprd.submit()
        dprd.close()

        kemendagri = Staff(browser, server.url, "kemendagri")
        kemendagri.open_task("Verifikasi rencana")
        kemendagri.fill({"hasil_verifikasi": "revisi", "catatan_verifikasi": "Lengkapi sasaran."})
        assert "Menunggu revisi rencana (Pemerintah Daerah)" in kemendagri.submit()

        pemda = Staff(browser, server.url, "pemda_a")
        pemda.open_task("Revisi rencana")
        assert pemda.page.input_value("[name='hasil_penjajakan']").startswith("Sepakat menjajaki")
        assert "Sudah diunggah: kajian.pdf" in pemda.page.inner_text("form.task-form")
        pemda.fill({"hasil_penjajakan": "Sepakat; sasaran dilengkapi."})
        assert "Menunggu verifikasi rencana" in pemda.submit()
        pemda.close()

        kemendagri.open_task("Verifikasi rencana")
        assert kemendagri.page.input_value("[name='hasil_verifikasi']") == ""
        kemendagri.fill({"hasil_verifikasi": "terima"})
        assert "Kasus selesai." in kemendagri.submit()
        kemendagri.close()

    with orch.session() as s:
        assert s.scalar(select(Instance.status)) == "completed"
        assert s.scalar(select(Document.filename)) == "kajian.pdf"


# --- the KSDPL diagram with its handlers ------------------------------------------------------------

KSDPL_BPMN = ROOT / "processes" / "ksdpl.bpmn"
KSDPL_DMN = ROOT / "processes" / "kelayakan.dmn"


def _ksdpl_missing() -> str | None:
    if not KSDPL_BPMN.is_file() or not KSDPL_DMN.is_file():
        return "processes/ksdpl.bpmn and processes/kelayakan.dmn are not there yet"
    try:
        import handlers
    except ImportError as err:
        return f"the KSDPL handlers cannot be imported: {err}"
    if not hasattr(handlers, "registry"):
        return "handlers.registry (the KSDPL handlers) is not written yet"
    return None


@pytest.fixture
def ksdpl_orch(db_file) -> Iterator[Orchestrator]:
    reason = _ksdpl_missing()
    if reason:
        pytest.skip(reason)
    from handlers import registry

    orch = Orchestrator(db_file, registry)
    with orch.uow() as uow:
        s = uow.session
        s.add(
            Region(
                code="32.73", name="Kota Bandung", level="kota", timezone="Asia/Jakarta", province_code="32"
            )
        )
        s.flush()
        for username, name, group, region in [
            ("pemda.bandung", "Rina Biro Kerja Sama", "pemda", "32.73"),
            ("kada.bandung", "Wali Kota Bandung", "kepala_daerah", "32.73"),
            ("dprd.bandung", "Sekretariat DPRD Bandung", "dprd", "32.73"),
            ("kemendagri", "Verifikator Kemendagri", "kemendagri", None),
        ]:
            s.add(new_account(username, name, group, region))
        uow.commit()
    orch.deploy({KSDPL_BPMN.name: KSDPL_BPMN.read_text(), KSDPL_DMN.name: KSDPL_DMN.read_text()}, user="uji")
    yield orch
    orch.close()


def _ready(orch: Orchestrator) -> list[str]:
    with orch.session() as s:
        return list(s.scalars(select(Task.bpmn_id).where(Task.status == "ready").order_by(Task.created_at)))


PLAN = {
    "subjek_rencana": "Pendidikan vokasi dan pengelolaan sampah",
    "latar_belakang_rencana": "Kedua kota menghadapi tantangan pengelolaan sampah perkotaan.",
    "maksud_tujuan_sasaran_rencana": "Meningkatkan kapasitas SMK dan dinas lingkungan hidup.",
    "objek_rencana": "Pertukaran guru, magang, dan bantuan teknis.",
    "ruang_lingkup_rencana": "Pendidikan vokasi; pengelolaan sampah.",
    "sumber_pembiayaan_rencana": "APBD Kota Bandung dan anggaran Kota Fukuoka.",
    "jangka_waktu_pelaksanaan_rencana": "5 tahun",
}


def test_ksdpl_stages_1_to_7_with_a_revision(browser, ksdpl_orch, tmp_path):
    orch = ksdpl_orch
    clock.set(datetime(2027, 5, 3, 2, 0, tzinfo=UTC))  # Monday 3 May 2027, 09:00 WIB
    docs = make_files(
        tmp_path,
        "penjajakan.pdf",
        "kajian.pdf",
        "rancangan-loi.pdf",
        "koordinasi-mendagri.pdf",
        "koordinasi-menlu.pdf",
        "loi.pdf",
        "rencana.pdf",
        "rencana-revisi.pdf",
        "surat-dprd.pdf",
        "keputusan-dprd.pdf",
        "penyampaian.pdf",
        "penyampaian-2.pdf",
        "pertimbangan.pdf",
        "pertimbangan-2.pdf",
    )

    def settle() -> None:
        """The worker's turn: service tasks (diplomatic check, DPRD deadline, notifications)."""
        for _ in range(10):
            if orch.run_due().total == 0:
                return

    with LiveServer(production_like(orch, "ksdpl")) as server:
        # --- stage 1-4: the region's cooperation bureau --------------------------------------------
        pemda = Staff(browser, server.url, "pemda.bandung")
        pemda.page.click("nav >> text=Kasus baru")
        pemda.fill(
            {
                "judul_kerja_sama": "Kerja sama kota kembar Bandung–Fukuoka",
                "jenis_kerja_sama": "ksdpl",
                "nama_mitra": "Kota Fukuoka",
                "negara_mitra": "JP",
                "tingkat_mitra": "kota_kabupaten",
                "sumber_prakarsa": "pemerintah_daerah",
                "uraian_prakarsa": "Pendidikan vokasi dan pengelolaan sampah.",
            }
        )
        assert "Kasus baru dimulai" in pemda.submit()

        pemda.open_task("Lakukan penjajakan")
        pemda.fill(
            {
                "mekanisme_komunikasi_media": True,
                "mekanisme_kunjungan_langsung": True,
                "uraian_penjajakan": "Video conference dan kunjungan delegasi Fukuoka.",
                "hasil_penjajakan": "sepakat",
                "dokumen_penjajakan": docs["penjajakan.pdf"],
            }
        )
        assert "Menunggu susun kajian kerja sama" in pemda.submit()

        pemda.open_task("Susun kajian kerja sama")
        pemda.fill({"ringkasan_kajian": "Kajian manfaat dan risiko.", "dokumen_kajian": docs["kajian.pdf"]})
        pemda.submit()

        pemda.open_task("Periksa persyaratan kerja sama")
        assert pemda.page.input_value("[name='nama_mitra']") == "Kota Fukuoka"
        pemda.fill(
            {
                "urusan_pemerintah_daerah": True,
                "kesetaraan_status": True,
                "tanpa_kantor_perwakilan": True,
                "tidak_campur_tangan": True,
                "sesuai_rencana_pembangunan": True,
                "hibah_sesuai_ketentuan": True,
            }
        )
        pemda.submit()
        settle()

        pemda.open_task("Susun rancangan Letter of Intent")
        pemda.fill(
            {
                "judul_loi": "Letter of Intent Bandung–Fukuoka",
                "subjek_loi": "Pendidikan vokasi dan lingkungan hidup",
                "maksud_tujuan_loi": "Menyatakan kehendak bekerja sama.",
                "ruang_lingkup_loi": "Pendidikan vokasi; pengelolaan sampah.",
                "dokumen_rancangan_loi": docs["rancangan-loi.pdf"],
            }
        )
        assert "Kepala Daerah" in pemda.submit()

        kada = Staff(browser, server.url, "kada.bandung")
        kada.open_task("Koordinasi dengan Mendagri dan Menlu")
        kada.fill(
            {
                "tanggal_koordinasi_mendagri": "2027-04-26",
                "nomor_surat_koordinasi_mendagri": "B/100/PEM/2027",
                "dokumen_koordinasi_mendagri": docs["koordinasi-mendagri.pdf"],
                "tanggal_koordinasi_menlu": "2027-04-27",
                "nomor_surat_koordinasi_menlu": "B/101/PEM/2027",
                "dokumen_koordinasi_menlu": docs["koordinasi-menlu.pdf"],
            }
        )
        kada.submit()

        pemda.open_task("Catat LoI yang ditandatangani")
        pemda.fill(
            {
                "tempat_penandatanganan_loi": "Bandung",
                "tanggal_penandatanganan_loi": "2027-04-30",
                "masa_berlaku_loi_mulai": "2027-04-30",
                "masa_berlaku_loi_sampai": "2028-04-30",
                "dokumen_loi": docs["loi.pdf"],
            }
        )
        pemda.submit()
        settle()

        pemda.open_task("Susun rencana kerja sama")
        pemda.fill({**PLAN, "dokumen_rencana_kerja_sama": docs["rencana.pdf"]})
        save_screenshot(pemda.page, "task-form.png")
        pemda.submit()

        pemda.open_task("Ajukan rencana kerja sama kepada DPRD")
        pemda.fill(
            {
                "nomor_surat_pengajuan_dprd": "B/200/PEM/2027",
                "tanggal_surat_pengajuan_dprd": "2027-05-03",
                "dokumen_surat_pengajuan_dprd": docs["surat-dprd.pdf"],
                "tanggal_diterima_dprd": "2027-05-03",
            }
        )
        pemda.submit()
        settle()

        # --- stage 5: the DPRD approves within its 45 working days ------------------------------------
        dprd = Staff(browser, server.url, "dprd.bandung")
        inbox = dprd.page.inner_text("table.inbox")
        assert (
            "Putuskan persetujuan DPRD" in inbox
            and "13 Juli 2027 WIB" in inbox
            and "45 hari kerja lagi" in inbox
        )
        save_screenshot(dprd.page, "inbox.png")
        dprd.open_task("Putuskan persetujuan DPRD")
        dprd.fill(
            {
                "keputusan_dprd": "setuju",
                "nomor_surat_keputusan_dprd": "DPRD/12/2027",
                "tanggal_surat_keputusan_dprd": "2027-05-03",
                "dokumen_keputusan_dprd": docs["keputusan-dprd.pdf"],
            }
        )
        assert "Kepala Daerah" in dprd.submit()
        dprd.close()

        # --- stage 6: the Kepala Daerah sends the plan to the Minister --------------------------------
        kada.open_task("Sampaikan rencana kepada Mendagri melalui Sekjen")
        kada.fill(
            {
                "nomor_surat_penyampaian_rencana": "B/300/PEM/2027",
                "tanggal_surat_penyampaian_rencana": "2027-05-03",
                "dokumen_surat_penyampaian_rencana": docs["penyampaian.pdf"],
            }
        )
        kada.submit()
        settle()

        # --- stage 7: Kemendagri asks for a revision ------------------------------------------------
        kemendagri = Staff(browser, server.url, "kemendagri")
        kemendagri.open_task("Verifikasi rencana dan beri pertimbangan")
        kemendagri.fill(
            {
                "hasil_verifikasi": "revisi",
                "pertimbangan_verifikasi": "Sasaran perlu dirinci per tahun.",
                "nomor_surat_pertimbangan": "100/KSDPL/2027",
                "tanggal_surat_pertimbangan": "2027-05-03",
                "dokumen_surat_pertimbangan": docs["pertimbangan.pdf"],
            }
        )
        kemendagri.submit()
        settle()

        pemda.open_task("Perbaiki rencana sesuai pertimbangan")
        assert pemda.page.input_value("[name='subjek_rencana']") == PLAN["subjek_rencana"]
        pemda.fill(
            {
                "maksud_tujuan_sasaran_rencana": "Sasaran per tahun: 2027 pertukaran guru; 2028 magang.",
                "dokumen_rencana_kerja_sama": docs["rencana-revisi.pdf"],
            }
        )
        pemda.submit()

        kada.open_task("Sampaikan rencana kepada Mendagri melalui Sekjen")
        kada.fill(
            {
                "nomor_surat_penyampaian_rencana": "B/301/PEM/2027",
                "tanggal_surat_penyampaian_rencana": "2027-05-03",
                "dokumen_surat_penyampaian_rencana": docs["penyampaian-2.pdf"],
            }
        )
        kada.submit()
        settle()

        kemendagri.open_task("Verifikasi rencana dan beri pertimbangan")
        assert kemendagri.page.input_value("[name='hasil_verifikasi']") == ""
        kemendagri.fill(
            {
                "hasil_verifikasi": "susun_naskah",
                "pertimbangan_verifikasi": "Rencana dapat ditindaklanjuti dengan penyusunan naskah.",
                "nomor_surat_pertimbangan": "101/KSDPL/2027",
                "tanggal_surat_pertimbangan": "2027-05-03",
                "dokumen_surat_pertimbangan": docs["pertimbangan-2.pdf"],
            }
        )
        kemendagri.submit()
        settle()
        kemendagri.close()

        assert "Task_SusunNaskah" in _ready(orch)
        pemda.go(f"{server.url}/")
        assert "Susun rancangan naskah kerja sama" in pemda.page.inner_text("table.inbox")
        pemda.page.click("table.inbox a >> nth=1")  # the case
        # The history is folded; the diagram's SVG labels appear only once bpmn-js has drawn, so
        # the assertion reads the sections themselves, not the whole page.
        pemda.page.click("#riwayat > summary")
        assert "Verifikasi rencana dan beri pertimbangan" in pemda.page.inner_text("#riwayat")
        assert "rencana-revisi.pdf" in pemda.page.inner_text("#dokumen")
        pemda.close()
        kada.close()
