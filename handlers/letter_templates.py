"""The default letter templates, written with python-docx in the style of Indonesian official
documents (Tata Naskah Dinas: Arial 12, a letterhead with a rule for letters, numbered articles
for agreements, the signature block on the right, tembusan).

`python -m handlers.letter_templates` writes them to `handlers/templates/letters/` (they are
committed; `tests/test_letters.py` checks they match this code). Operators do not run this:
they copy a .docx (`ksdpl letter-templates DIR`), edit it in a word processor keeping the
`{{ ... }}` tags, and point `KSDPL_LETTER_TEMPLATES` at the folder.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

FOLDER = Path(__file__).resolve().parent / "templates" / "letters"
CENTER, JUSTIFY, RIGHT = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.RIGHT


class Letter:
    """A document being written: paragraphs in Arial 12 with the spacing of official letters."""

    def __init__(self) -> None:
        self.doc = Document()
        style = self.doc.styles["Normal"]
        style.font.name = "Arial"
        style.font.size = Pt(12)
        style.element.rPr.rFonts.set(qn("w:eastAsia"), "Arial")
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.line_spacing = 1.15
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(33), Cm(21.5)  # F4, the paper of Indonesian offices
        section.top_margin, section.bottom_margin = Cm(2), Cm(2)
        section.left_margin, section.right_margin = Cm(2.5), Cm(2)

    def p(self, text: str = "", *, bold: bool = False, align=None, indent: float = 0, size: int = 0):
        paragraph = self.doc.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        if indent:
            paragraph.paragraph_format.left_indent = Cm(indent)
        if text:
            run = paragraph.add_run(text)
            run.bold = bold
            if size:
                run.font.size = Pt(size)
        return paragraph

    def body(self, text: str, indent: float = 0):
        """A justified paragraph with a first-line indent, as letters are typed."""
        paragraph = self.p(text, align=JUSTIFY, indent=indent)
        paragraph.paragraph_format.first_line_indent = Cm(1.25)
        return paragraph

    def heading(self, text: str):
        paragraph = self.p(text, bold=True, align=CENTER)
        paragraph.paragraph_format.space_before = Pt(12)
        return paragraph

    def section(self, number: str, title: str, value: str) -> None:
        """A numbered part whose text is a case value (which may run over several lines)."""
        self.p(f"{number}. {title}", bold=True)
        self.p(value, indent=0.75)  # left-aligned: a value's own line breaks would stretch justified lines

    def letterhead(self) -> None:
        """Kop surat: the government, the secretariat, the address line, then a double rule."""
        self.p("{{ PEMERINTAH_DAERAH }}", bold=True, align=CENTER, size=14)
        self.p("SEKRETARIAT DAERAH", bold=True, align=CENTER, size=16)
        rule = self.p("Alamat: ……………………  Telepon: ……………  Laman: ……………", align=CENTER, size=10)
        borders = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for key, value in (
            ("w:val", "thinThickSmallGap"),
            ("w:sz", "18"),
            ("w:space", "1"),
            ("w:color", "000000"),
        ):
            bottom.set(qn(key), value)
        borders.append(bottom)
        rule._p.get_or_add_pPr().append(borders)

    def facts(self, rows: list[tuple[str, str]], indent: float = 0) -> None:
        """Label-colon-value lines (Nomor, Sifat, Lampiran, Hal) in a borderless table."""
        table = self.doc.add_table(rows=0, cols=3)
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        table.autofit = False
        widths = (Cm(3.5 + indent), Cm(0.5), Cm(13 - indent))
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        for label, value in rows:
            cells = table.add_row().cells
            for cell, content, width in zip(cells, (label, ":", value), widths, strict=True):
                cell.text, cell.width = content, width

    def signature(self, title: str, place_date: str = "") -> None:
        """The signatory on the right half: place and date, office, room to sign, name."""
        if place_date:
            self.p(place_date, indent=9)
        self.p(title, bold=True, indent=9)
        for _ in range(3):
            self.p(indent=9)
        self.p("{{ nama_penandatangan }}", bold=True, indent=9)

    def two_signatures(self, left: tuple[str, str], right: tuple[str, str]) -> None:
        table = self.doc.add_table(rows=4, cols=2)
        for column, (party, office) in enumerate((left, right)):
            table.cell(0, column).text = party
            table.cell(1, column).text = office
            table.cell(3, column).text = "{{ nama_penandatangan }}"
            for row in range(4):
                table.cell(row, column).paragraphs[0].alignment = CENTER
        table.rows[2].height = Cm(2.5)

    def save(self, path: Path) -> None:
        self.doc.core_properties.author = "Sistem KSDPL"
        self.doc.core_properties.title = path.stem
        self.doc.save(str(path))


def rancangan_loi() -> Letter:
    d = Letter()
    d.p("RANCANGAN", align=RIGHT, size=10)
    for line in (
        "LETTER OF INTENT",
        "(PERNYATAAN KEHENDAK)",
        "ANTARA",
        "{{ PEMERINTAH_DAERAH }}, REPUBLIK INDONESIA",
        "DAN",
        "{{ MITRA }}, {{ NEGARA_MITRA }}",
        "TENTANG",
        "{{ JUDUL_LOI }}",
    ):
        d.p(line, bold=True, align=CENTER)
    d.p()
    d.body(
        "{{ pemerintah_daerah }}, Republik Indonesia, dan {{ mitra }}, {{ negara_mitra }}, yang selanjutnya "
        "secara bersama-sama disebut “Para Pihak”, berkeinginan mempererat hubungan persahabatan dan "
        "kerja sama yang saling menguntungkan atas dasar kesetaraan, dengan menghormati peraturan "
        "perundang-undangan yang berlaku di negara masing-masing, menyatakan kehendak sebagai berikut:"
    )
    d.section("1", "Subjek Kerja Sama", "{{ subjek_loi }}")
    d.section("2", "Maksud dan Tujuan", "{{ maksud_tujuan_loi }}")
    d.section("3", "Ruang Lingkup", "{{ ruang_lingkup_loi }}")
    d.section(
        "4",
        "Masa Berlaku",
        "Pernyataan Kehendak ini berlaku selama 1 (satu) tahun sejak tanggal penandatanganan dan "
        "ditindaklanjuti dengan penyusunan rencana kerja sama sesuai dengan Peraturan Menteri Dalam "
        "Negeri Nomor 25 Tahun 2020.",
    )
    d.section(
        "5",
        "Sifat",
        "Pernyataan Kehendak ini bukan perjanjian internasional dan tidak menimbulkan hak dan "
        "kewajiban yang mengikat secara hukum bagi Para Pihak.",
    )
    d.body(
        "Ditandatangani di {{ tempat_penandatanganan_loi }} pada tanggal {{ tanggal_penandatanganan_loi }} "
        "dalam rangkap dua, dalam bahasa Indonesia dan bahasa Inggris, kedua naskah sama keasliannya."
    )
    d.two_signatures(
        ("Untuk {{ pemerintah_daerah }}", "{{ kepala_daerah }}"), ("Untuk {{ mitra }}", "……………………")
    )
    return d


def rencana_kerja_sama() -> Letter:
    d = Letter()
    for line in (
        "RENCANA KERJA SAMA",
        "{{ jenis_kerja_sama }}",
        "ANTARA {{ PEMERINTAH_DAERAH }} DAN {{ MITRA }}, {{ NEGARA_MITRA }}",
    ):
        d.p(line, bold=True, align=CENTER)
    d.p("{{ judul_kerja_sama }}", align=CENTER)
    d.body(
        "Rencana kerja sama ini disusun berdasarkan kajian kerja sama dan Letter of Intent "
        "“{{ judul_loi }}” yang ditandatangani pada tanggal {{ tanggal_penandatanganan_loi }} "
        "(berlaku sampai dengan {{ masa_berlaku_loi_sampai }}), untuk memperoleh persetujuan Dewan "
        "Perwakilan Rakyat Daerah dan pertimbangan Menteri Dalam Negeri."
    )
    d.section("I", "Subjek Kerja Sama", "{{ subjek_rencana }}")
    d.section("II", "Latar Belakang", "{{ latar_belakang_rencana }}")
    d.section("III", "Maksud, Tujuan, dan Sasaran", "{{ maksud_tujuan_sasaran_rencana }}")
    d.section("IV", "Objek Kerja Sama", "{{ objek_rencana }}")
    d.section("V", "Ruang Lingkup", "{{ ruang_lingkup_rencana }}")
    d.section("VI", "Sumber Pembiayaan", "{{ sumber_pembiayaan_rencana }}")
    d.section("VII", "Jangka Waktu Pelaksanaan", "{{ jangka_waktu_pelaksanaan_rencana }}")
    d.signature("{{ KEPALA_DAERAH }},", "{{ tempat_surat }}, {{ tanggal_surat }}")
    return d


def rancangan_naskah() -> Letter:
    d = Letter()
    d.p("RANCANGAN", align=RIGHT, size=10)
    for line in (
        "NASKAH KERJA SAMA",
        "ANTARA",
        "{{ PEMERINTAH_DAERAH }}, REPUBLIK INDONESIA",
        "DAN",
        "{{ MITRA }}, {{ NEGARA_MITRA }}",
        "TENTANG",
        "{{ JUDUL_NASKAH }}",
    ):
        d.p(line, bold=True, align=CENTER)
    d.body(
        "{{ pemerintah_daerah }}, Republik Indonesia, dan {{ mitra }}, {{ negara_mitra }}, yang selanjutnya "
        "disebut “Para Pihak”, mengingat Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan "
        "Daerah dan Peraturan Menteri Dalam Negeri Nomor 25 Tahun 2020, telah bersepakat sebagai berikut:"
    )
    articles = (
        ("Subjek", "{{ subjek_naskah }}"),
        ("Maksud dan Tujuan", "{{ maksud_tujuan_naskah }}"),
        ("Ruang Lingkup", "{{ ruang_lingkup_naskah }}"),
        ("Pelaksanaan", "{{ pelaksanaan_naskah }}"),
        ("Pembiayaan", "{{ pembiayaan_naskah }}"),
        ("Kelompok Kerja Bersama", "{{ kelompok_kerja_bersama_naskah }}"),
        ("Penyelesaian Perselisihan", "{{ penyelesaian_perselisihan_naskah }}"),
        ("Amandemen", "{{ amandemen_naskah }}"),
        (
            "Masa Berlaku, Perpanjangan, dan Pengakhiran",
            "Naskah Kerja Sama ini berlaku sejak {{ masa_berlaku_naskah_mulai }} sampai dengan "
            "{{ masa_berlaku_naskah_sampai }}. {{ perpanjangan_pengakhiran_naskah }}",
        ),
    )
    for number, (title, value) in enumerate(articles, 1):
        d.heading(f"Pasal {number}")
        d.p(title, bold=True, align=CENTER)
        d.p(value)
    d.body(
        "Ditandatangani di {{ rencana_tempat_penandatanganan_naskah }} pada tanggal "
        "{{ rencana_tanggal_penandatanganan_naskah }} dalam rangkap dua, dalam bahasa Indonesia dan bahasa "
        "Inggris, kedua naskah sama keasliannya."
    )
    d.two_signatures(
        ("Untuk {{ pemerintah_daerah }}", "{{ kepala_daerah }}"), ("Untuk {{ mitra }}", "……………………")
    )
    return d


def surat_tindak_lanjut_mendagri() -> Letter:
    d = Letter()
    d.letterhead()
    d.p("{{ tempat_surat }}, {{ tanggal_surat }}", align=RIGHT)
    d.facts(
        [
            ("Nomor", "{{ nomor_surat }}"),
            ("Sifat", "Penting"),
            ("Lampiran", "1 (satu) berkas"),
            ("Hal", "Permohonan Tindak Lanjut Rencana Kerja Sama {{ judul_kerja_sama }}"),
        ]
    )
    d.p()
    d.p("Yth. Menteri Dalam Negeri")
    d.p("c.q. Sekretaris Jenderal Kementerian Dalam Negeri")
    d.p("di")
    d.p("Jakarta", indent=1)
    d.body(
        "Berdasarkan Peraturan Menteri Dalam Negeri Nomor 25 Tahun 2020 tentang Tata Cara Kerja Sama "
        "Daerah dengan Pemerintah Daerah di Luar Negeri dan Kerja Sama Daerah dengan Lembaga di Luar "
        "Negeri, bersama ini kami sampaikan hal-hal sebagai berikut:"
    )
    d.p(
        "1. Rencana kerja sama {{ judul_kerja_sama }} antara {{ pemerintah_daerah }} dan {{ mitra }}, "
        "{{ negara_mitra }}, telah disampaikan kepada Dewan Perwakilan Rakyat Daerah dengan surat Nomor "
        "{{ nomor_surat_pengajuan_dprd }} tanggal {{ tanggal_surat_pengajuan_dprd }} dan diterima pada "
        "tanggal {{ tanggal_diterima_dprd }}.",
        align=JUSTIFY,
        indent=0.75,
    )
    d.p(
        "2. Sampai dengan batas waktu {{ batas_dprd_hari_kerja }} hari kerja, yaitu tanggal "
        "{{ batas_dprd }}, Dewan Perwakilan Rakyat Daerah tidak memberikan keputusan, sehingga "
        "rencana kerja sama tersebut dianggap telah disetujui sejak tanggal "
        "{{ tanggal_dianggap_disetujui }}.",
        align=JUSTIFY,
        indent=0.75,
    )
    d.p(
        "3. Rencana kerja sama tersebut disusun berdasarkan Letter of Intent “{{ judul_loi }}” yang "
        "ditandatangani pada tanggal {{ tanggal_penandatanganan_loi }}.",
        align=JUSTIFY,
        indent=0.75,
    )
    d.body(
        "Sehubungan dengan hal tersebut, kami mohon Bapak Menteri Dalam Negeri berkenan menindaklanjuti "
        "rencana kerja sama dimaksud dan memberikan pertimbangan sesuai dengan ketentuan peraturan "
        "perundang-undangan. Rencana kerja sama kami lampirkan."
    )
    d.body("Demikian kami sampaikan. Atas perhatian dan kerja sama Bapak, kami ucapkan terima kasih.")
    d.signature("{{ KEPALA_DAERAH }},")
    d.p("Tembusan:")
    for n, recipient in enumerate(
        (
            "Menteri Luar Negeri;",
            "Ketua Dewan Perwakilan Rakyat Daerah {{ daerah }};",
            "Sekretaris Daerah {{ daerah }}.",
        ),
        1,
    ):
        d.p(f"{n}. {recipient}", indent=0.5)
    return d


def rencana_kegiatan_tahunan() -> Letter:
    d = Letter()
    for line in (
        "RENCANA KEGIATAN TAHUNAN",
        "TAHUN PELAKSANAAN KE-{{ tahun_pelaksanaan_ke }}",
        "KERJA SAMA {{ PEMERINTAH_DAERAH }} DAN {{ MITRA }}, {{ NEGARA_MITRA }}",
    ):
        d.p(line, bold=True, align=CENTER)
    d.facts(
        [
            ("Naskah kerja sama", "{{ judul_naskah }}"),
            ("Ditandatangani", "{{ tanggal_penandatanganan_naskah }}"),
            ("Periode", "{{ periode_mulai_tahunan }} sampai dengan {{ periode_sampai_tahunan }}"),
            ("Batas penyusunan", "{{ batas_rencana_tahunan }}"),
        ]
    )
    d.section("1", "Uraian Kegiatan", "{{ uraian_kegiatan_tahunan }}")
    d.section("2", "Peran Para Pihak", "{{ peran_para_pihak }}")
    d.section("3", "Hasil yang Diharapkan", "{{ hasil_yang_diharapkan }}")
    d.section("4", "Rencana Pembiayaan", "{{ rencana_pembiayaan_tahunan }}")
    d.signature("{{ KEPALA_DAERAH }},", "{{ tempat_surat }}, {{ tanggal_surat }}")
    return d


def laporan_tahunan() -> Letter:
    d = Letter()
    for line in (
        "LAPORAN PELAKSANAAN KERJA SAMA",
        "TAHUN PELAKSANAAN KE-{{ tahun_pelaksanaan_ke }}",
        "{{ PEMERINTAH_DAERAH }} DAN {{ MITRA }}, {{ NEGARA_MITRA }}",
    ):
        d.p(line, bold=True, align=CENTER)
    d.facts(
        [
            ("Kepada", "Yth. Menteri Dalam Negeri c.q. Sekretaris Jenderal"),
            ("Naskah kerja sama", "{{ judul_naskah }}"),
            ("Ditandatangani", "{{ tanggal_penandatanganan_naskah }}"),
            ("Periode laporan", "{{ periode_mulai_tahunan }} sampai dengan {{ periode_sampai_tahunan }}"),
            (
                "Surat pengantar",
                "Nomor {{ nomor_surat_laporan_tahunan }} tanggal {{ tanggal_surat_laporan_tahunan }}",
            ),
        ]
    )
    d.section(
        "I",
        "Pendahuluan",
        "Laporan ini disampaikan sesuai dengan Peraturan Menteri Dalam Negeri Nomor "
        "25 Tahun 2020, paling lambat {{ batas_laporan_tahunan }}.",
    )
    d.section("II", "Kegiatan yang Direncanakan", "{{ uraian_kegiatan_tahunan }}")
    d.section("III", "Hasil Pelaksanaan", "{{ hasil_pelaksanaan_tahunan }}")
    d.section(
        "IV",
        "Penutup",
        "Demikian laporan pelaksanaan kerja sama ini disampaikan sebagai bahan evaluasi dan pembinaan.",
    )
    d.signature("{{ KEPALA_DAERAH }},", "{{ tempat_surat }}, {{ tanggal_surat }}")
    return d


TEMPLATES: dict[str, Callable[[], Letter]] = {
    "rancangan-loi.docx": rancangan_loi,
    "rencana-kerja-sama.docx": rencana_kerja_sama,
    "rancangan-naskah.docx": rancangan_naskah,
    "surat-tindak-lanjut-mendagri.docx": surat_tindak_lanjut_mendagri,
    "rencana-kegiatan-tahunan.docx": rencana_kegiatan_tahunan,
    "laporan-tahunan.docx": laporan_tahunan,
}


def build(folder: Path = FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in TEMPLATES.items():
        make().save(folder / name)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER):
        print(path)
