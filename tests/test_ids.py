from olive.ids import new_id, ulid


def test_ids_sort_in_creation_order_even_within_one_millisecond() -> None:
    ids = [new_id("call", now=1_800_000_000.0) for _ in range(500)]
    assert ids == sorted(ids) and len(set(ids)) == 500


def test_shape() -> None:
    value = ulid()
    assert len(value) == 26 and value.isalnum()
    assert new_id("cont").startswith("cont_")
