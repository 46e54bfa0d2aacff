"""Who is who in KSDPL (Permendagri 25/2020): the groups, which of them belong to one region,
and the region levels, registered as the engine's access policy. Who may start a case is the
diagram's (`camunda:candidateStarterGroups="pemda"` on the process)."""

from __future__ import annotations

from engine.access import AccessPolicy

from .registry import registry

registry.access = AccessPolicy(
    national_groups=frozenset({"kemendagri", "kemenlu"}),
    regional_groups=frozenset({"pemda", "kepala_daerah", "dprd"}),
    operator_groups=frozenset({"operator", "admin"}),
    admin_groups=frozenset({"admin"}),
    labels={
        "pemda": "Pemerintah Daerah",
        "kepala_daerah": "Kepala Daerah",
        "dprd": "DPRD",
        "kemendagri": "Kementerian Dalam Negeri",
        "kemenlu": "Kementerian Luar Negeri",
        "operator": "Operator",
        "admin": "Administrator",
    },
    region_levels={"provinsi": "Provinsi", "kabupaten": "Kabupaten", "kota": "Kota"},
)
