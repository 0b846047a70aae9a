"""How messages count things (labelling.text.counted)."""

from labelling.text import counted


def test_one_thing_is_singular_and_every_other_count_plural_with_thousands_separated():
    assert [counted(n, "gold item") for n in (0, 1, 2, 12_345)] == ["0 gold items", "1 gold item", "2 gold items", "12,345 gold items"]
