"""A deployment is a real HTTP service on loopback (its own process, ONNX Runtime) that only its owner's ``ocr``
tokens can call; missing, revoked, wrongly scoped and other users' tokens are refused."""

from __future__ import annotations

import cv2
import httpx
import pytest
from text_pages import generated_page

from semiocr.core.models.pretrained import onnx_path
from semiocr.platform import deployments as dp
from semiocr.platform.db import session
from semiocr.platform.executors.local import pid_alive
from semiocr.platform.users import create_token, get_or_create_user, revoke_token


def _token(user: str, scopes: tuple[str, ...]) -> tuple[int, str]:
    with session() as s:
        tok = create_token(s, get_or_create_user(s, user), "t", scopes)
        return tok.id, tok.secret


@pytest.mark.slow
def test_a_deployment_answers_its_owner_only_and_stops(platform_db, user_env):
    _, alice_ocr = _token("alice", ("ocr",))
    _, alice_manage = _token("alice", ("manage",))
    revoked_id, revoked = _token("alice", ("ocr",))
    _, bob_ocr = _token("bob", ("ocr",))
    row = dp.create("alice", str(onnx_path("PP-OCRv4-mobile-det")), str(onnx_path("PP-OCRv4-mobile-rec")))
    url = dp.url_of(row)
    try:
        img, truth = generated_page(3)
        png = cv2.imencode(".png", img)[1].tobytes()

        def ocr(token: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx.post(f"{url}/v1/ocr", files={"file": ("page.png", png, "image/png")}, headers=headers,
                              timeout=60)

        r = ocr(alice_ocr)
        assert r.status_code == 200, r.text
        assert [ln["text"].strip() for ln in r.json()["lines"]] == [t for t, _ in truth]
        with session() as s:
            revoke_token(s, get_or_create_user(s, "alice"), revoked_id)
        for token, status, reason in ((None, 401, "missing access token"), ("sot_x_y", 401, "unknown access token"),
                                      (revoked, 401, "revoked"), (alice_manage, 403, "lacks the 'ocr' scope"),
                                      (bob_ocr, 403, "does not belong to the deployment's owner")):
            r = ocr(token)
            assert r.status_code == status and reason in r.json()["detail"], (token, r.text)
            assert token is None or token not in r.text  # a token is never echoed
        assert httpx.get(f"{url}/health").json()["deployment"] == row.id
        metrics = httpx.get(f"{url}/metrics").text
        assert 'semiocr_requests_total{endpoint="/v1/ocr",status="200"} 1.0' in metrics
        assert 'status="401"' in metrics and 'status="403"' in metrics
    finally:
        with session() as s:
            stopped = dp.stop(s, get_or_create_user(s, "alice"), row.id)
    assert stopped.state == "stopped" and not pid_alive(row.pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
    with session() as s, pytest.raises(dp.DeploymentNotFound):
        dp.get(s, get_or_create_user(s, "bob"), row.id)
