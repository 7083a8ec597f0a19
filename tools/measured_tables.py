"""The part every measuring tool shares: one row per item, written to a CSV file as it is measured.

Used by tools/measure_4_1.py and tools/measure_4_3.py (``from measured_tables import write_rows``; tools/ is
on sys.path when a tool runs as a script).
"""
import csv
import time
from pathlib import Path


def write_rows(out, items, measure):
    """Write ``measure(item)`` (a dict; its keys are the columns) for each item to the CSV file ``out``.

    The header comes from the first row; the file is flushed after each row, so a long run can be watched and
    an interrupted one keeps what it measured. Prints each item's name and the seconds it took.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = None
        for item in items:
            start = time.time()
            row = measure(item)
            if writer is None:
                writer = csv.DictWriter(f, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            f.flush()
            print(f"{item.name:16s} {time.time() - start:5.0f} s", flush=True)
