"""Parameters and GFLOPs per frame of every network, at every profile (a table for the book).

    python benchmarks/model_zoo.py [--markdown]

Counted on torch's meta device with FlopCounterMode: exact counts of the forward pass
(2 FLOPs per multiply-add), no memory, no arithmetic. Measured speeds belong to the
training benchmarks.
"""

from __future__ import annotations

import argparse

from omglib.config import PROFILE_NAMES
from omglib.models import describe, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    table = {p: {r["name"]: r for r in describe(p)} for p in PROFILE_NAMES}
    header = ["model"] + [f"{p} params" for p in PROFILE_NAMES] + [f"{p} GFLOPs/frame" for p in PROFILE_NAMES]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print(f"{header[0]:40s} " + " ".join(f"{h:>18s}" for h in header[1:]))
    for name in names():
        params = [f"{table[p][name]['parameters']:,}" for p in PROFILE_NAMES]
        flops = [f"{table[p][name]['gflops_per_frame']:.3f}" for p in PROFILE_NAMES]
        if args.markdown:
            print(f"| {name} | " + " | ".join(params + flops) + " |")
        else:
            print(f"{name:40s} " + " ".join(f"{v:>18s}" for v in params + flops))


if __name__ == "__main__":
    main()
