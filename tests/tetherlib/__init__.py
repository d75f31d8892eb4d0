"""What every Python test and benchmark of Tether shares: starting tetherd and reading its
log, gNMI stubs generated from this repository's proto/, the gnmic text path grammar, and the
namespace topologies described as data under tests/topology/.

The suites put `tests/` on `sys.path` (their conftest.py does) and import from here; nothing
in this package is a test.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
