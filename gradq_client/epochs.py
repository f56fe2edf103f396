"""Epoch records as flat rows (lr/0, lr/1, ...) and as CSV."""

import csv
import io
from collections.abc import Sequence
from typing import Any


def flatten_epoch(item: dict[str, Any]) -> dict[str, Any]:
    """One epoch as flat columns: the `lr` list becomes lr/0, lr/1, ... as the server stores it."""
    row = {key: value for key, value in item.items() if key != "lr"}
    for group, lr in enumerate(item.get("lr") or []):
        row[f"lr/{group}"] = lr
    return row


def epochs_to_csv(items: Sequence[dict[str, Any]]) -> str:
    """Epochs as CSV: `epoch` first, then every key in the order first seen."""
    rows = [flatten_epoch(item) for item in items]
    columns = list(dict.fromkeys(["epoch", *(key for row in rows for key in row)]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
