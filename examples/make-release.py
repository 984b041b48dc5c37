"""Generate the demo release: a few files of seeded pseudo-random bytes.

The same seed always gives the same bytes, so the demo's torrents and DNS
records are the same on every machine.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

FILES = {
    "myapp-1.0.tar.gz": 3 << 20,
    "myapp-1.0-amd64.iso": 12 << 20,
    "docs/release notes.txt": 20_000,
}


def main(root: Path) -> None:
    for name, size in FILES.items():
        path = root / name
        rng = random.Random(f"torpub-demo:{name}")
        data = rng.randbytes(size)
        if path.exists() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path} ({size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "release"))
