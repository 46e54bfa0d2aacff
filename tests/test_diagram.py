"""The KSDPL diagram as Camunda Modeler sees it: lints clean, every element carries its stage."""

from __future__ import annotations

import os
import subprocess

import pytest
from lxml import etree

from engine.parser import parse_files
from tests.conftest import ROOT

BPMN = ROOT / "processes" / "ksdpl.bpmn"
DMN = (ROOT / "processes" / "kelayakan.dmn").read_text(encoding="utf-8")
LINT = ROOT / ".cache" / "bpmn-check" / "lint.sh"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "serviceTask",
    "businessRuleTask",
    "exclusiveGateway",
    "parallelGateway",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "subProcess",
)


def test_lints_like_camunda_modeler_with_no_findings():
    if not LINT.exists():
        if os.environ.get("CI"):
            pytest.fail("the bpmn-check tools are missing: `make bpmn-check` installs them")
        pytest.skip("run `make bpmn-check` to install the Camunda Modeler lint tools")
    result = subprocess.run([str(LINT), str(BPMN)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 errors, 0 warnings"


STAGES = [
    "Prakarsa",
    "Penjajakan",
    "Letter of Intent",
    "Rencana Kerja Sama",
    "Persetujuan DPRD",
    "Penyampaian Rencana",
    "Verifikasi",
    "Penyusunan Naskah",
    "Pembahasan",
    "Persetujuan Mendagri",
    "Pelaksanaan",
    "Pelaporan",
]


def test_the_process_names_the_regulations_12_stages_and_who_starts_a_case():
    """Stage names and starters are the diagram's (process properties, candidate starter groups),
    so an analyst changes them in the Modeler, not in Python."""
    [deployment] = parse_files({"ksdpl.bpmn": BPMN.read_text(encoding="utf-8"), "kelayakan.dmn": DMN})
    assert deployment.stages == dict(enumerate(STAGES, 1))
    assert deployment.starter_groups == ["pemda"]


def test_every_flow_node_has_a_stage_from_1_to_12():
    root = etree.parse(str(BPMN)).getroot()
    for tag in FLOW_NODES:
        for node in root.iter(f"{{{NS['bpmn']}}}{tag}"):
            stage = node.xpath(
                "./bpmn:extensionElements/camunda:properties/camunda:property[@name='stage']/@value",
                namespaces=NS,
            )
            assert stage and 1 <= int(stage[0]) <= 12, node.get("id")


def test_written_for_camunda_platform_7():
    root = etree.parse(str(BPMN)).getroot()
    assert root.get("{http://camunda.org/schema/modeler/1.0}executionPlatform") == "Camunda Platform"
    assert root.get("{http://camunda.org/schema/modeler/1.0}executionPlatformVersion").startswith("7.")
    process = root.find("bpmn:process", NS)
    assert process.get("{http://camunda.org/schema/1.0/bpmn}historyTimeToLive")
    lanes = [lane.get("name") for lane in root.iter(f"{{{NS['bpmn']}}}lane")]
    assert lanes == [
        "Pemerintah Daerah",
        "Kepala Daerah",
        "DPRD",
        "Kementerian Dalam Negeri",
        "Kementerian Luar Negeri",
    ]
