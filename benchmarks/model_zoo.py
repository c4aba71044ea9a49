"""Parameters and GFLOPs per frame of every network, at every profile (a table for the book).

    python benchmarks/model_zoo.py [--markdown]

Counted on torch's meta device with FlopCounterMode: exact counts of the forward pass
(2 FLOPs per multiply-add), no memory, no arithmetic. Measured speeds belong to the
training benchmarks.
"""

from __future__ import annotations

import argparse

from omglib.snippets import markdown_table, model_size_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (the one book/models.md shows)")
    args = parser.parse_args()
    header, rows = model_size_rows()
    if args.markdown:
        print(markdown_table(header, rows), end="")
        return
    for row in [header, *rows]:
        print(f"{row[0]:40s} " + " ".join(f"{v:>18s}" for v in row[1:]))


if __name__ == "__main__":
    main()
