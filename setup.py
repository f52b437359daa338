"""Package discovery; everything else is in pyproject.toml.

``migrations/`` lives at the top of the repository but installs as
``dashai_store.migrations``, a name no other distribution can collide with. Packages are
discovered, never listed by hand: a subpackage added later ships without anyone
remembering to name it (tests/test_install_forms.py checks the built wheel).
"""

from setuptools import find_packages, setup

STORE = find_packages(include=["dashai_store", "dashai_store.*"])
MIGRATIONS = ["dashai_store." + name for name in find_packages(include=["migrations", "migrations.*"])]

setup(packages=[*STORE, *MIGRATIONS], package_dir={"dashai_store.migrations": "migrations"})
