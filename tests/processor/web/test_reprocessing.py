"""``POST /api/Reprocessing/``: a token with ``reprocess`` queues stored crashes."""

from __future__ import annotations

import requests

from processor.queues import REPROCESSING, open_queue
from processor.web.tokens import REPROCESS, VIEW_PROTECTED


def post(web, crash_ids, token=None):
    headers = {"Auth-Token": token} if token else {}
    return requests.post(
        web.url + "/api/Reprocessing/",
        data={"crash_ids": crash_ids},
        headers=headers,
        timeout=30,
    )


def depth(web) -> int:
    queue = open_queue(web.queue_url)
    try:
        return queue.depths().get(REPROCESSING, 0)
    finally:
        queue.close()


def test_reprocessing_queues_stored_crashes_with_the_permission(web):
    crash_ids = sorted(web.data.processed)[:3]
    before = depth(web)
    assert post(web, crash_ids).status_code == 403
    viewer = web.tokens.add("reprocessing-viewer", [VIEW_PROTECTED])
    assert post(web, crash_ids, viewer).status_code == 403
    token = web.tokens.add("reprocessing-bot", [REPROCESS])
    answer = post(web, crash_ids, token)
    assert answer.status_code == 200 and answer.json() is True
    assert depth(web) == before + 3
    # The unprocessed crash is stored, so it can be queued too (as `crashproc reprocess` can).
    assert post(web, web.data.unprocessed, token).json() is True
    assert depth(web) == before + 4


def test_reprocessing_refuses_unknown_and_malformed_ids(web):
    token = web.tokens.add("reprocessing-checks", [REPROCESS])
    before = depth(web)
    unknown = "00000000" + sorted(web.data.processed)[0][8:]
    answer = post(web, [sorted(web.data.processed)[0], unknown], token)
    assert answer.status_code == 400 and unknown in answer.json()["error"]
    assert post(web, ["not-a-crash"], token).status_code == 400
    assert post(web, [], token).status_code == 400
    assert depth(web) == before  # a refused batch queues nothing
