"""Bounded case state (issue 8): a running KSDPL case that goes ten times through every revision
loop and two yearly rounds never stores more than 15 KB of state, and still ends as it should."""

from __future__ import annotations

from datetime import date

from engine import runtime
from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

LIMIT = 15 * 1024


def test_state_stays_under_15_kb_through_ten_revision_rounds(start_case: StartCase, orch, monkeypatch):
    sizes: list[int] = []
    dump = runtime.Case.dump

    def measured(case: runtime.Case) -> str:
        state = dump(case)
        if case.status == "running":
            sizes.append(len(state.encode()))
        return state

    monkeypatch.setattr(runtime.Case, "dump", measured)
    case = start_case(on=date(2027, 1, 4))
    paths.whole_path(case, rounds=10, years=2)  # ends with the case completed
    assert len(sizes) > 150  # every step of the running case stored its state
    assert max(sizes) <= LIMIT, max(sizes)
    marks = orch.element_states(case.id)  # the diagram still counts every round
    assert marks["Task_TindakLanjutPenolakan"]["completed"] == 10
    assert marks["Task_PerbaikiRencana"]["completed"] == 10
    assert marks["Task_LaporanTahunan"]["completed"] == 2
