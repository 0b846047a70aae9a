"""Demo projects made in one call, for a first start with nothing configured (and for scripts and tests).

    from labelling import Store
    from labelling.setup.demo import create_demo
    create_demo(Store.connect(), "digits")
"""

from __future__ import annotations

from pathlib import Path

from labelling.io import ingest
from labelling.errors import InvalidInput
from labelling.records import Project
from labelling.storage.store import Store

__all__ = ["DEMOS", "REVIEWS_CSV", "create_demo", "create_digits_demo", "create_reviews_demo"]

REVIEWS_CSV = Path(__file__).with_name("data") / "reviews.csv"

DIGITS_INSTRUCTIONS = """\
Each picture is a handwritten digit, scanned at 8×8 pixels.

- Press the button (or the key) of the digit you see.
- If you cannot tell, **Skip** it: someone else will get it.
"""

REVIEWS_INSTRUCTIONS = """\
Read the product review and choose its sentiment:

- **positive**: the reviewer is happy with the product;
- **negative**: the reviewer is unhappy (broken, returned, poor quality);
- **neutral**: neither, or mixed.
"""


def _settings(display: str, column: str, source: str) -> dict:
    """A demo's project settings: items shown as `display` ("text" or "image") from `column`, which is
    also the one column the model learns from; no column of existing labels."""
    return {
        "display": display,
        f"{display}_column": column,
        "feature_columns": [column],
        "label_column": None,
        "source": source,
    }


def create_digits_demo(store: Store, name: str = "Handwritten digits (demo)") -> Project:
    """sklearn's bundled 1,797 handwritten digits, shown as 8×8 images, labels "0".."9"."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    items = [{"image": image, "index": index} for index, image in enumerate(digits.images)]
    return store.import_project(
        name,
        [str(d) for d in range(10)],
        items,
        instructions=DIGITS_INSTRUCTIONS,
        settings=_settings("image", "image", source="sklearn.datasets.load_digits"),
    )[0]


def create_reviews_demo(store: Store, name: str = "Product reviews (demo)") -> Project:
    """210 short product reviews written for this project; labels positive, negative, neutral."""
    return store.import_project(
        name,
        ["positive", "negative", "neutral"],
        ingest.read_csv(REVIEWS_CSV),
        instructions=REVIEWS_INSTRUCTIONS,
        settings=_settings("text", "review", source=REVIEWS_CSV.name),
    )[0]


DEMOS = {
    "digits": ("Handwritten digits (images)", create_digits_demo),
    "reviews": ("Product reviews (text)", create_reviews_demo),
}
"""Demo key -> (what the button says, function making the project)."""


def create_demo(store: Store, which: str) -> Project:
    if which not in DEMOS:
        raise InvalidInput(f"no demo {which!r}: choose one of {', '.join(DEMOS)}")
    return DEMOS[which][1](store)
