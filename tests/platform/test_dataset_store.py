from pathlib import Path

import pytest

from semiocr.core.data.hashing import dataset_hash
from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.platform.datasets import DatasetInvalidError, DatasetStore, DatasetStoreError
from semiocr.platform.settings import get_settings

TINY = SynthConfig(n_train=6, n_val=3, n_test=2, n_unlabeled=4, seed=5)


@pytest.fixture
def src(tmp_path):
    return generate_dataset(tmp_path / "src", TINY)


@pytest.fixture
def store(platform_db, user_env):
    return DatasetStore()


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_home_from_env_and_one_store_per_user(store, fresh_home, monkeypatch):
    assert store.root == fresh_home.resolve() / "datasets" / "alice"
    assert DatasetStore(user="bob").root == fresh_home.resolve() / "datasets" / "bob"
    monkeypatch.delenv("SEMIOCR_HOME")
    assert get_settings().home == (Path.home() / ".semiocr").resolve()


def test_add_versions_and_noop(store, src):
    res = store.add(src, "demo")
    assert res.created and res.dataset.ref == "demo:v1" and res.dataset.hash == dataset_hash(src)
    stored = store.path("demo")
    assert stored == store.root / "demo" / "v1" and _snapshot(stored) == _snapshot(src)
    assert res.dataset.counts["train"] == 6 and (store.root / "demo" / "v1.report.json").is_file()
    again = store.add(src, "demo")
    assert not again.created and again.dataset.version == 1 and len(store.list()) == 1
    (src / "NOTES.md").write_text("changed content\n", encoding="utf-8")
    v2 = store.add(src, "demo")
    assert v2.created and v2.dataset.version == 2 and v2.dataset.hash != res.dataset.hash
    assert store.get("demo", 1).hash == res.dataset.hash and store.verify("demo:v1") and store.verify("demo")
    assert [d.ref for d in store.list()] == ["demo:v1", "demo:v2"]
    (stored / "train.txt").write_text("tampered\tX\n", encoding="utf-8")
    assert not store.verify("demo", 1)


def _append(root, name, line):
    with open(root / name, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])


BAD_INPUTS = {  # the "bad input to try" list, each applied to a dataset already stored once
    "space instead of TAB": lambda r: _append(r, "train.txt", "images/lines/train_00000.jpg A"),
    "missing image": lambda r: _append(r, "train.txt", "images/lines/nope.jpg\tA"),
    "truncated JPEG": lambda r: _truncate(r / "images/lines/train_00001.jpg"),
    "path with ../": lambda r: _append(r, "val.txt", "../src/images/lines/train_00000.jpg\tA"),
    "character not in dict": lambda r: _append(r, "train.txt", "images/lines/train_00000.jpg\tA€"),
    "empty train.txt": lambda r: (r / "train.txt").write_text("", encoding="utf-8"),
    "non-UTF-8 label file": lambda r: (r / "val.txt").write_bytes(b"images/lines/val_00000.jpg\t\xe9t\xe9\n"),
}


@pytest.mark.parametrize("bad", sorted(BAD_INPUTS))
def test_failed_add_changes_nothing(store, src, bad):
    store.add(src, "demo")
    before = _snapshot(store.root)
    BAD_INPUTS[bad](src)
    with pytest.raises(DatasetInvalidError) as exc:
        store.add(src, "demo")
    assert exc.value.report.errors and all(":" in i.where or i.where.endswith(".txt")
                                           for i in exc.value.report.errors)
    with pytest.raises(DatasetInvalidError):
        store.add(src, "other")
    assert _snapshot(store.root) == before
    assert not [p for p in store.root.iterdir() if p.name.startswith(".add-")]


def test_bad_names_and_unknowns(store, src):
    for bad in ("", "../x", "a/b", ".hidden", "x" * 65):
        with pytest.raises(DatasetStoreError, match="invalid"):
            store.add(src, bad)
    with pytest.raises(DatasetStoreError, match="no dataset named 'nope'"):
        store.get("nope")
    store.add(src, "demo")
    with pytest.raises(DatasetStoreError, match="is inside"):
        DatasetStore(src / "ws").add(src, "loop")
    with pytest.raises(DatasetStoreError, match="has no version 7"):
        store.get("demo:v7")


def test_remove(store, src):
    store.add(src, "demo")
    (src / "dict.txt").write_text((src / "dict.txt").read_text() + "é\n", encoding="utf-8")
    store.add(src, "demo")
    [gone] = store.remove("demo", 1)
    assert gone.version == 1 and not (store.root / "demo" / "v1").exists()
    assert [d.ref for d in store.list()] == ["demo:v2"]
    store.remove("demo")
    assert store.list() == [] and not (store.root / "demo").exists()
    with pytest.raises(DatasetStoreError, match="no dataset 'demo'"):
        store.remove("demo")


def test_names_are_per_user_and_a_version_a_run_uses_stays(store, src):
    from semiocr.platform.db import session
    from semiocr.platform.runs import create_run
    from semiocr.platform.users import local_user

    mine = store.add(src, "demo").dataset
    theirs = DatasetStore(user="bob")
    assert theirs.list() == [] and theirs.add(src, "demo").dataset.path != mine.path
    with session() as s:
        run = create_run(s, local_user(s), {"kind": "rec", "arch": "rec-tiny", "data_dir": mine.path})
    with pytest.raises(DatasetStoreError, match=f"demo:v1 is used by run {run.id}"):
        store.remove("demo")
    assert store.verify("demo") and [d.ref for d in store.list()] == ["demo:v1"]
    theirs.remove("demo")  # bob's copy is not used by alice's run
