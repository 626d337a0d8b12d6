"""The management API over HTTP (FastAPI's test client): tokens and scopes, one user never sees or touches
another's runs, checkpoints or marks, errors are 4xx with the reason, and the live log resumes from an offset."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from semiocr.api.app import create_app
from semiocr.platform import runs as rs
from semiocr.platform.db import session, utcnow
from semiocr.platform.tables import Checkpoint
from semiocr.platform.users import create_token, get_or_create_user, revoke_token

CFG = {"kind": "rec", "arch": "rec-tiny", "data_dir": "/data/digits", "epochs": 1}


@pytest.fixture
def api(platform_db):
    with TestClient(create_app()) as client:
        yield client


def _token(name: str, scopes=("manage", "ocr")) -> str:
    with session() as s:
        return create_token(s, get_or_create_user(s, name), "test", scopes).secret


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_required_scoped_and_revocable(api):
    assert api.get("/v1/runs").status_code == 401
    assert api.get("/v1/runs", headers=_auth("sot_nope_nope")).status_code == 401
    r = api.get("/v1/runs", headers=_auth(_token("olive", ("ocr",))))
    assert r.status_code == 403 and r.json()["detail"] == "access token lacks the 'manage' scope"
    tok = _token("carol")
    assert api.get("/v1/me", headers=_auth(tok)).json()["name"] == "carol"
    made = api.post("/v1/tokens", json={"name": "ci", "scopes": ["ocr"]}, headers=_auth(tok))
    assert made.status_code == 201 and made.json()["token"].startswith("sot_")
    listed = api.get("/v1/tokens", headers=_auth(tok)).json()
    assert all(t["token"] is None for t in listed) and {t["name"] for t in listed} == {"test", "ci"}
    with session() as s:
        revoke_token(s, get_or_create_user(s, "carol"), listed[0]["id"])
    r = api.get("/v1/me", headers=_auth(tok))
    assert r.status_code == 401 and r.json()["detail"] == "access token revoked"


def test_one_users_token_is_refused_on_another_users_objects(api):
    alice, bob = _token("alice"), _token("bob")
    run = api.post("/v1/runs", json={"config": CFG, "name": "mine"}, headers=_auth(alice)).json()
    assert run["state"] == "queued" and run["config"]["output_dir"].endswith(f"runs/{run['id']}/output")
    with session() as s:
        s.add(Checkpoint(run_id=run["id"], user_id=run_id_owner(run["id"]), path="/x.pt", type="best", epoch=1,
                         step=2, metrics={"acc": 0.5}, created_at=utcnow()))
    for method, path in (("get", f"/v1/runs/{run['id']}"), ("post", f"/v1/runs/{run['id']}/cancel"),
                         ("get", f"/v1/runs/{run['id']}/checkpoints"), ("get", f"/v1/runs/{run['id']}/logs"),
                         ("get", f"/v1/evals/{run['id']}")):
        r = getattr(api, method)(path, headers=_auth(bob))
        assert r.status_code == 404 and "not found" in r.json()["detail"], (path, r.text)
    assert api.get("/v1/runs", headers=_auth(bob)).json() == []
    r = api.post("/v1/marks", json={"checkpoint": 1, "nickname": "stolen"}, headers=_auth(bob))
    assert r.status_code == 404
    assert api.get(f"/v1/runs/{run['id']}/checkpoints", headers=_auth(alice)).json()[0]["metrics"] == {"acc": 0.5}
    assert api.post(f"/v1/runs/{run['id']}/cancel", headers=_auth(alice)).json()["state"] == "draft"


def run_id_owner(run_id: int) -> int:
    with session() as s:
        return s.get(rs.Run, run_id).user_id


def test_bad_requests_get_4xx_with_the_reason(api):
    tok = _auth(_token("dave"))
    r = api.post("/v1/runs", json={"config": {**CFG, "epochs": 0}}, headers=tok)
    assert r.status_code == 422 and "epochs" in r.json()["detail"]
    r = api.post("/v1/runs", json={"config": {"arch": "rec-tiny"}}, headers=tok)
    assert r.status_code == 422 and "no kind" in r.json()["detail"]
    r = api.post("/v1/runs", json={"config": CFG, "surprise": 1}, headers=tok)
    assert r.status_code == 422
    run = api.post("/v1/runs", json={"config": CFG, "draft": True}, headers=tok).json()
    r = api.post(f"/v1/runs/{run['id']}/stop", headers=tok)
    assert r.status_code == 409 and "only a running run can be stopped" in r.json()["detail"]
    r = api.post(f"/v1/runs/{run['id']}/resume", headers=tok)
    assert r.status_code == 409 and "cannot resume" in r.json()["detail"]
    assert api.post(f"/v1/runs/{run['id']}/explode", headers=tok).status_code == 404
    assert api.delete("/v1/marks/none", headers=tok).status_code == 404


def test_the_live_log_resumes_from_an_offset(api):
    tok = _auth(_token("erin"))
    run = api.post("/v1/runs", json={"config": CFG}, headers=tok).json()
    with session() as s:
        row = s.get(rs.Run, run["id"])
        row.state, row.attempt = "running", 1
        log = rs.log_path(row)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("first line\nsecond line\n")
    body = api.get(f"/v1/runs/{run['id']}/logs", params={"follow": False}, headers=tok).text
    frames = [f for f in body.split("\n\n") if f.startswith("id:")]
    assert [f.split("data: ")[1] for f in frames] == ["first line", "second line"]
    first_end = frames[0].split("\n")[0].removeprefix("id: ")
    again = api.get(f"/v1/runs/{run['id']}/logs", params={"follow": False},
                    headers={**tok, "Last-Event-ID": first_end}).text
    assert "first line" not in again and "data: second line" in again and again.endswith("event: end\ndata: \n\n")


def test_openapi_schema_lists_the_management_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/runs", "/v1/runs/{run_id}", "/v1/runs/{run_id}/logs", "/v1/marks", "/v1/evals",
            "/v1/tokens"} <= set(paths)


def test_login_with_a_password_gives_a_token(api):
    from typer.testing import CliRunner

    from semiocr.cli.main import app

    res = CliRunner().invoke(app, ["users", "password", "--password", "correct horse"], env={"SEMIOCR_USER": "frank"})
    assert res.exit_code == 0 and "password set for frank" in res.output
    with session() as s:
        assert get_or_create_user(s, "frank").password_hash.startswith("$argon2")  # never the password itself
    assert api.post("/v1/login", json={"user": "frank", "password": "wrong"}).status_code == 401
    assert api.post("/v1/login", json={"user": "nobody", "password": "x"}).status_code == 401
    r = api.post("/v1/login", json={"user": "frank", "password": "correct horse", "scopes": ["manage"]})
    assert r.status_code == 201 and api.get("/v1/me", headers=_auth(r.json()["token"])).json()["name"] == "frank"


def test_datasets_belong_to_their_user(api, tmp_path):
    from semiocr.core.data.synth import SynthConfig, generate_dataset

    src = generate_dataset(tmp_path / "src", SynthConfig(n_train=6, n_val=3, n_test=2, n_unlabeled=4, seed=1))
    alice, bob = _auth(_token("alice")), _auth(_token("bob"))
    r = api.post("/v1/datasets", json={"path": str(src), "name": "meters"}, headers=alice)
    assert r.status_code == 201 and r.json()["ref"] == "meters:v1" and r.json()["created"]
    assert [d["ref"] for d in api.get("/v1/datasets", headers=alice).json()] == ["meters:v1"]
    assert api.get("/v1/datasets", headers=bob).json() == []
    assert api.get("/v1/datasets/meters", headers=bob).status_code == 404
    assert api.delete("/v1/datasets/meters", headers=bob).status_code == 404
    (src / "train.txt").write_text("images/nope.png\tA\n", encoding="utf-8")
    bad = api.post("/v1/datasets", json={"path": str(src), "name": "meters"}, headers=alice)
    assert bad.status_code == 422 and "train.txt:1" in bad.json()["detail"]
    path = api.get("/v1/datasets/meters:v1", headers=alice).json()["path"]
    api.post("/v1/runs", json={"config": {**CFG, "data_dir": path}}, headers=alice)
    r = api.delete("/v1/datasets/meters", headers=alice)
    assert r.status_code == 422 and "is used by run" in r.json()["detail"]
