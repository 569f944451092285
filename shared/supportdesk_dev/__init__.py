"""supportdesk_dev: what runs beside the domain on a developer's or operator's machine.

The local stack on moto (`make dev`, the tests), Lambda events for tests and benchmarks,
and the operators' command line. Never shipped: the Lambda layer holds only `supportdesk`.
"""

from __future__ import annotations

from pathlib import Path

# The checkout this package runs from (shared/supportdesk_dev/ -> the repository).
REPO_ROOT = Path(__file__).resolve().parents[2]
