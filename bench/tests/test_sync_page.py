"""The sync page bench judges the page by its median against 200 ms, and refuses a run too small to say much."""

import pytest

from bench import sync_page


def results(median_ms: float) -> dict:
    timing = {"renders": 50, "median_ms": median_ms, "p95_ms": median_ms * 1.2, "max_ms": median_ms * 2, "queries": 15}
    return {
        "page": timing,
        "page_cold": {**timing, "median_ms": 400.0},
        "metrics": {**timing, "queries": 9},
        "data": {"documents": 100_000},
    }


@pytest.mark.parametrize(("median_ms", "met"), [(27.0, True), (199.9, True), (200.0, False), (850.0, False)])
def test_the_page_meets_its_goal_only_with_a_median_under_200_ms(median_ms, met):
    page_goal, cold_row, metrics_row = sync_page.goals(results(median_ms))
    assert page_goal["met"] is met
    assert page_goal["figure"].startswith("Sync page with 100,000 sync records")
    assert page_goal["measured"] == f"{median_ms}; {median_ms * 1.2}; {median_ms * 2}; 15 queries"
    assert cold_row["measured"].startswith("400.0; ") and cold_row["met"]  # measured, not judged
    assert metrics_row["measured"].endswith("9 queries")


@pytest.mark.parametrize("argv", [["--records", "999"], ["--renders", "4"]])
def test_a_run_too_small_to_say_much_is_refused(argv):
    with pytest.raises(SystemExit):
        sync_page.parse(argv)
