"""Test-only migration steps (never registered in ``migrations/``) and a wrapper script.

Each ``next_*`` module is a step that a test appends to the real registry, e.g.
``steps_from((*REGISTRY, next_fail_halfway))``. ``migrate_with.py`` runs the migrate
command line in a subprocess with such a registry. Their ids take the number after the
real registry's last step (:data:`NEXT`), so a new real step does not renumber them.
"""

from dashai_store.migrations import REGISTRY

NEXT = f"{len(REGISTRY) + 1:04d}"
