"""The finance bench tells the platform the sandbox's compressed minute, groups attachment calls as one
endpoint, and judges a backfill by the documents Xero holds twice."""

from bench import figures, finance


def test_the_platform_is_told_the_sandboxs_compressed_minute():
    args = finance.parse(["--minute-seconds", "12"])
    assert finance.limits(args)["MINUTE_SECONDS"] == 12 and finance.limits(args)["MINUTE_LIMIT"] == 60
    assert finance.platform_pace(args) == {"XERO_CALLS_PER_MINUTE": "300"}


def test_attachment_calls_are_one_endpoint_whatever_the_file_name():
    path = "/xero-sandbox/api.xro/2.0/Invoices/0b7e1c8a-1f1e-4c5e-9a55-3d0e0f2a9b11/Attachments/INV-000042.pdf"
    assert figures._endpoint(path) == "/Invoices/{id}/Attachments/{file name}"


def results(*, twice=0, attached=True, counted=3070):
    calls = {"counted": counted, "too_many_requests": 0}
    return {
        "attach": {
            "invoices": 3000,
            "all_sent": True,
            "all_attached": attached,
            "minutes_until_all_sent": 1.2,
            "minutes_until_all_attached": 60.0,
            "calls": calls,
        },
        "render": {"documents": 200, "ms_median": 180.0, "ms_p95": 250.0},
        "backfill": {
            "documents": 20000,
            "all_settled": True,
            "progress": {"sent": 20000, "matched": 0, "failed": 0},
            "minutes_until_all_sent": 14.0,
            "calls": {"counted": 820},
            "numbers_xero_holds_twice": twice,
        },
    }


def test_a_backfill_that_left_a_number_twice_in_xero_misses_its_goal():
    assert [row["met"] for row in finance.goals(results())] == [True, True, True]
    assert [row["met"] for row in finance.goals(results(twice=1))] == [True, True, False]


def test_pdfs_not_all_attached_or_past_the_days_calls_miss_their_goal():
    assert not finance.goals(results(attached=False))[0]["met"]
    assert not finance.goals(results(counted=5001))[0]["met"]
