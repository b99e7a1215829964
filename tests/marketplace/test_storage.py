import hashlib

import pytest

from marketplace.storage import file_sha256, store_dir, store_open, store_path, store_writer


@pytest.fixture(autouse=True)
def _store(settings, tmp_path):
    settings.DATASET_STORAGE_DIR = str(tmp_path / "store")


def test_a_written_file_is_stored_under_its_sha256():
    with store_writer(suffix="jsonl") as (out, result):
        out.write(b"hello ")
        out.write(b"world\n")
    (stored,) = result
    assert stored.sha256 == hashlib.sha256(b"hello world\n").hexdigest()
    assert stored.file_name == f"{stored.sha256}.jsonl"
    assert stored.size == 12
    with store_open(stored.file_name) as file:
        assert file.read() == b"hello world\n"
        file.seek(0)
        assert file_sha256(file) == (stored.sha256, 12)


def _write_half_then_fail(result_holder: list) -> None:
    with store_writer(suffix="csv") as (out, result):
        result_holder.append(result)
        out.write(b"half")
        raise RuntimeError("disk gone")


def test_a_failed_write_leaves_nothing_behind():
    holder: list = []
    with pytest.raises(RuntimeError, match="disk gone"):
        _write_half_then_fail(holder)
    (result,) = holder
    assert result == []
    assert list(store_dir().iterdir()) == []


@pytest.mark.parametrize("name", ["../etc/passwd", "x.jsonl", "a" * 64 + ".JSONL", "a" * 64])
def test_names_the_store_cannot_have_made_are_refused(name):
    with pytest.raises(ValueError, match="not a stored file name"):
        store_path(name)
