"""bench/all.py rewrites only the blocks between a benchmark's markers in bench/RESULTS.md
(no benchmark runs here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_all() -> Any:
    spec = importlib.util.spec_from_file_location("bench_all", REPO / "bench" / "all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_all"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench_all = _load_all()

PAGE = """# Results

Prose before.

<!-- bench/journey.py: begin -->
old plain figures
<!-- bench/journey.py: end -->

Prose between.

<!-- bench/journey.py --as-deployed: begin -->
old deployed figures
<!-- bench/journey.py --as-deployed: end -->

## Reading the figures

Prose after.
"""


def test_a_block_is_replaced_and_the_prose_and_other_blocks_kept() -> None:
    text = bench_all.replace_block(PAGE, "bench/journey.py", "new figures\n| a | b |\n")
    assert text == PAGE.replace("old plain figures", "new figures\n| a | b |")
    # Twice gives the same: nothing piles up around the block.
    assert bench_all.replace_block(text, "bench/journey.py", "new figures\n| a | b |") == text


def test_an_invocation_with_options_has_its_own_block() -> None:
    text = bench_all.replace_block(PAGE, "bench/journey.py --as-deployed", "new")
    assert "old plain figures" in text and "old deployed figures" not in text
    assert "--as-deployed: begin -->\nnew\n<!-- bench/journey.py --as-deployed: end -->" in text


@pytest.mark.parametrize("page", [
    PAGE.replace("<!-- bench/journey.py: end -->\n", ""),  # no end
    PAGE.replace("<!-- bench/journey.py: begin -->\n", ""),  # no begin
    PAGE + "\n<!-- bench/journey.py: begin -->\n",  # twice
    PAGE.replace("<!-- bench/journey.py: begin -->", "<!-- x -->").replace(
        "<!-- bench/journey.py: end -->", "<!-- bench/journey.py: begin -->").replace(
        "<!-- x -->", "<!-- bench/journey.py: end -->"),  # the wrong way round
])
def test_a_missing_or_broken_marker_pair_is_an_error(page: str) -> None:
    with pytest.raises(bench_all.MarkerError):
        bench_all.replace_block(page, "bench/journey.py", "new")


def test_a_benchmark_without_markers_is_an_error() -> None:
    with pytest.raises(bench_all.MarkerError, match="bench/scale.py: begin"):
        bench_all.replace_block(PAGE, "bench/scale.py", "new")


def test_every_benchmark_has_its_markers_in_results() -> None:
    text = (REPO / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    for bench in bench_all.BENCHES:
        bench_all.block_span(text, bench.key)
