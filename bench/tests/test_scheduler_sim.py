"""The simulated scheduler keeps its promises on a small scale: while a big backlog drains and many
organisations have work, the app-wide budget is used, and a small organisation's documents go in seconds."""

from bench import scheduler_sim


def small_run(**changes):
    args = scheduler_sim.parse(
        ["--organisations", "500", "--medium", "200", "--medium-backlog", "500", "--small", "40", "--app-limit", "1200"]
    )
    for name, value in changes.items():
        setattr(args, name, value)
    return scheduler_sim.run(args)


def test_the_app_wide_budget_is_used_while_many_organisations_have_work():
    assert small_run()["app_budget_used_while_10_or_more_have_work"] >= 0.9


def test_a_small_organisation_is_served_in_seconds_while_big_backlogs_drain():
    # Taking turns, 200 organisations with backlogs share the app's 20 calls a second: a small one's
    # documents wait about one round of turns (12 s); served oldest first, they waited 92 s.
    result = small_run()
    assert result["small_wait_p95_seconds"] < 30
    assert result["big_backlog_calls"] == 100  # its 5,000 documents, 50 a call, all sent
