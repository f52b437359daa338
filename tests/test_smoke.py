from dashai_store.database import Store
from dashai_store.schema import drift


def test_fresh_store_has_no_drift(store: Store) -> None:
    assert drift(store.db) == []
