"""Every legal run transition, and every illegal one refused with both states named, through the services."""

import itertools

import pytest

from semiocr.platform import runs as rs
from semiocr.platform import states as st
from semiocr.platform.db import session
from semiocr.platform.users import local_user

LEGAL = {("draft", "queued"), ("queued", "draft"), ("queued", "running"), ("running", "succeeded"),
         ("running", "stopped"), ("running", "failed"), ("queued", "failed"), ("stopped", "queued"),
         ("failed", "queued")}
CFG = {"kind": "rec", "arch": "rec-tiny", "data_dir": "/nowhere", "epochs": 1}


def test_the_transition_table_is_exactly_the_lifecycle():
    assert set(st.TRANSITIONS) == LEGAL


@pytest.mark.parametrize(("current", "target"), sorted(itertools.product(st.STATES, st.STATES)))
def test_each_pair_of_states(platform_db, user_env, current, target):
    with session() as s:
        run = rs.create_run(s, local_user(s), CFG, submit=False)
        run.state = current
        if (current, target) in LEGAL:
            rs.transition(run, target, "why")
            assert run.state == target
            if target in st.FINISHED:
                assert run.finished_at is not None and run.exit_reason == "why"
            if target == "running":
                assert run.attempt == 1 and run.started_at is not None
        else:
            with pytest.raises(st.IllegalTransition, match=f"is {current}: cannot become {target}"):
                rs.transition(run, target)
            assert run.state == current


def test_services_submit_cancel_stop_resume(platform_db, user_env):
    with session() as s:
        user = local_user(s)
        run = rs.create_run(s, user, CFG, submit=False)
        assert run.state == "draft" and run.output_dir.endswith(f"runs/{run.id}/output")
        assert run.config["output_dir"] == run.output_dir and run.config["kind"] == "rec"
        rs.submit(s, user, run.id)
        with pytest.raises(st.IllegalTransition, match="cancel a queued run instead"):
            rs.request_stop(s, user, run.id)
        assert rs.cancel(s, user, run.id).state == "draft"
        with pytest.raises(st.IllegalTransition, match="is draft: cannot become draft"):
            rs.cancel(s, user, run.id)
        with pytest.raises(st.IllegalTransition, match="is draft: cannot resume it"):
            rs.resume(s, user, run.id)  # draft → queued is submit; resume is stopped/failed → queued
        rs.submit(s, user, run.id)
        run.state = "running"
        assert rs.request_stop(s, user, run.id).stop_requested
        rs.transition(run, "stopped")
        with pytest.raises(st.IllegalTransition, match="is stopped: cannot submit it"):
            rs.submit(s, user, run.id)
        assert rs.resume(s, user, run.id).state == "queued" and not run.stop_requested


def test_bad_configs_are_refused_with_the_field(platform_db, user_env):
    from semiocr.core.config import ConfigError

    with pytest.raises(ConfigError, match="epochs"), session() as s:
        rs.create_run(s, local_user(s), {**CFG, "epochs": -1})
    with pytest.raises(ConfigError, match="no kind"), session() as s:
        rs.create_run(s, local_user(s), {"arch": "rec-tiny"})
    with session() as s:
        assert rs.list_runs(s, local_user(s)) == []  # nothing was stored


def test_another_users_run_is_not_found(platform_db, monkeypatch):
    monkeypatch.setenv("SEMIOCR_USER", "alice")
    with session() as s:
        run_id = rs.create_run(s, local_user(s), CFG).id
    monkeypatch.setenv("SEMIOCR_USER", "bob")
    with session() as s:
        with pytest.raises(rs.RunNotFound):
            rs.get_run(s, local_user(s), run_id)
        with pytest.raises(rs.RunNotFound):
            rs.cancel(s, local_user(s), run_id)
        assert rs.list_runs(s, local_user(s)) == []
