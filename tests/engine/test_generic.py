"""engine/ is generic (finding 8): it imports without the handler package or the web app, and
names nothing of KSDPL. Groups, who may start a case, region levels and stage names come from the
handler package (`registry.access`) or the diagram (stage names, candidate starter groups)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from engine.parser import parse_files
from tests.conftest import ROOT

ENGINE = ROOT / "engine"
KSDPL = (ROOT / "processes" / "ksdpl.bpmn").read_text(encoding="utf-8")
DMN = (ROOT / "processes" / "kelayakan.dmn").read_text(encoding="utf-8")
# The product's configuration names (KSDPL_* environment variables, the default ksdpl.db file)
# belong to the deployment, not to the process.
CONFIGURATION = re.compile(r"KSDPL_[A-Z_]+|ksdpl\.db")


def ksdpl_words() -> re.Pattern[str]:
    [deployment] = parse_files({"ksdpl.bpmn": KSDPL, "kelayakan.dmn": DMN})
    words = [
        "ksdpl",
        "ksdll",
        "pemda",
        "pemerintah daerah",
        "kemendagri",
        "mendagri",
        "kemenlu",
        "menlu",
        "dprd",
        "kepala_daerah",
        "kepala daerah",
        "provinsi",
        "kabupaten",
        "kota",
        "permendagri",
        *deployment.stages.values(),  # the 12 stages, as the diagram names them
    ]
    assert len(deployment.stages) == 12
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def test_the_engine_imports_alone() -> None:
    program = (
        "import importlib, pkgutil, sys, engine\n"
        "for module in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if not module.name.startswith('engine.migrations'):\n"
        "        importlib.import_module(module.name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'handlers', 'web', 'tests'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSDPL_")}
    proc = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_engine_names_nothing_of_ksdpl() -> None:
    pattern = ksdpl_words()
    found = []
    for path in sorted(ENGINE.rglob("*")):
        if path.suffix not in {".py", ".mako", ".ini", ".md", ".txt"} or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(CONFIGURATION.sub("", line)):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match[0]}: {line.strip()}")
    assert found == []
