"""Test-only migration steps (never registered in ``migrations/``) and a wrapper script.

Each ``m0005_*`` module is a step 5 (after the real registry's 0004) that a test appends
to the real registry, e.g. ``steps_from((*REGISTRY, m0005_fail_halfway))``.
``migrate_with.py`` runs the migrate command line in a subprocess with such a registry.
"""
