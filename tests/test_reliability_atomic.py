"""Atomic outputs and manifests: nothing half-written at a final path, clear messages for disk full / permission denied."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tevatron_ext.common import atomic
from tevatron_ext.common.atomic import (
    atomic_dir,
    atomic_open,
    atomic_write_json,
    atomic_write_text,
    is_complete,
    manifest_path,
    read_manifest,
    write_manifest,
)
from tevatron_ext.common.errors import OutputError
from tevatron_ext.common.formats import write_run


class Boom(RuntimeError):
    pass


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


# --------------------------------------------------------------------------- the block raises
@pytest.mark.parametrize("exc", [Boom("stop"), KeyboardInterrupt()])
def test_atomic_open_leaves_nothing_when_the_block_raises(tmp_path, exc):
    out = tmp_path / "sub" / "run.txt"
    with pytest.raises(type(exc)), atomic_open(out) as fh:
        fh.write("q1 Q0 d1 1 1.0 t\n" * 1000)
        raise exc
    assert not out.exists() and leftovers(out.parent) == []


def test_atomic_open_keeps_the_previous_output_when_the_block_raises(tmp_path):
    out = tmp_path / "run.txt"
    out.write_text("old\n")
    with pytest.raises(Boom), atomic_open(out) as fh:
        fh.write("new\n")
        raise Boom
    assert out.read_text() == "old\n" and leftovers(tmp_path) == ["run.txt"]


def test_atomic_write_json_leaves_nothing_when_serialising_fails(tmp_path):
    out = tmp_path / "results.json"
    with pytest.raises(TypeError):
        atomic_write_json(out, {"bad": object()})
    assert leftovers(tmp_path) == []


def test_writer_raising_midway_leaves_nothing(tmp_path):
    """A writer that raises after some lines (here a non-finite score in the second topic) leaves no file."""
    out = tmp_path / "run.txt"
    with pytest.raises(ValueError, match="non-finite"):
        write_run(out, {"q1": {"a": 1.0}, "q2": {"b": float("nan")}})
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [Boom("stop"), KeyboardInterrupt()])
def test_atomic_dir_leaves_nothing_when_the_block_raises(tmp_path, exc):
    out = tmp_path / "index"
    with pytest.raises(type(exc)), atomic_dir(out) as tmp:
        (tmp / "part").write_text("x")
        raise exc
    assert leftovers(tmp_path) == []


def test_atomic_dir_replaces_an_existing_dir_only_when_complete(tmp_path):
    out = tmp_path / "index"
    out.mkdir()
    (out / "old").write_text("1")
    with pytest.raises(Boom), atomic_dir(out) as tmp:
        (tmp / "new").write_text("2")
        raise Boom
    assert leftovers(out) == ["old"] and leftovers(tmp_path) == ["index"]
    with atomic_dir(out) as tmp:
        (tmp / "new").write_text("2")
    assert leftovers(out) == ["new"] and leftovers(tmp_path) == ["index"]


def test_atomic_dir_puts_the_previous_output_back_when_the_rename_fails(tmp_path, monkeypatch):
    out = tmp_path / "index"
    out.mkdir()
    (out / "old").write_text("1")
    real = os.replace

    def replace(src, dst):
        if Path(src).name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="the disk is full"), atomic_dir(out) as tmp:
        (tmp / "new").write_text("2")
    assert leftovers(out) == ["old"] and leftovers(tmp_path) == ["index"]


# --------------------------------------------------------------------------- disk full, permission denied
def test_disk_full_on_rename(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", full)
    out = tmp_path / "run.txt"
    with pytest.raises(OutputError, match=f"cannot write {out}: the disk is full"):
        atomic_write_text(out, "x\n")
    with pytest.raises(OutputError, match="the disk is full"), atomic_dir(tmp_path / "index") as tmp:
        (tmp / "a").write_text("x")
    assert leftovers(tmp_path) == []


def test_disk_full_while_writing(tmp_path, monkeypatch):
    """ENOSPC from the data itself (here at fsync, where a delayed write surfaces) is an OutputError too."""
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OutputError, match="the disk is full"):
        write_run(tmp_path / "run.txt", {"q1": {"d1": 1.0}})
    assert leftovers(tmp_path) == []


def test_disk_quota_is_disk_full(tmp_path, monkeypatch):
    def quota(*args, **kwargs):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(atomic.os, "replace", quota)
    with pytest.raises(OutputError, match="the disk is full"):
        atomic_write_text(tmp_path / "x.txt", "x")


@pytest.mark.parametrize("where", ["mkstemp", "mkdtemp", "replace"])
@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_permission_denied_simulated(tmp_path, monkeypatch, where, code):
    """Root ignores directory permissions, so the refusal is simulated where the OS would raise it."""
    def denied(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    if where == "replace":
        monkeypatch.setattr(atomic.os, "replace", denied)
    else:
        monkeypatch.setattr(atomic.tempfile, where, denied)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=f"cannot write {out}: permission denied"):
        if where == "mkdtemp":
            with atomic_dir(out):
                pass
        else:
            atomic_write_text(out, "x")
    assert leftovers(tmp_path) == []


def test_permission_denied_real(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: directory permissions are not enforced (see the simulated test)")
        with pytest.raises(OutputError, match="permission denied"):
            atomic_write_text(ro / "x.txt", "x")
        with pytest.raises(OutputError, match="permission denied"), atomic_dir(ro / "index"):
            pass
        with pytest.raises(OutputError, match="permission denied"):
            atomic_write_text(ro / "deeper" / "x.txt", "x")
    finally:
        ro.chmod(0o755)
    assert leftovers(ro) == []


def test_parent_is_a_file(tmp_path):
    """A real failure even as root: the output's parent is a file."""
    (tmp_path / "runs").write_text("not a dir")
    for write in (lambda p: atomic_write_text(p, "x"), lambda p: atomic_dir(p).__enter__()):
        for out in (tmp_path / "runs" / "bm25.txt", tmp_path / "runs" / "a" / "b.txt"):
            with pytest.raises(OutputError, match=f"cannot write {out}: {tmp_path / 'runs'} is a file, not a directory"):
                write(out)
    assert leftovers(tmp_path) == ["runs"]


def test_an_oserror_about_another_file_is_not_blamed_on_the_output(tmp_path):
    """Reading a missing input inside the block is that input's error, not 'cannot write <output>'."""
    with pytest.raises(FileNotFoundError) as err, atomic_open(tmp_path / "out.txt") as fh:
        fh.write("x")
        (tmp_path / "missing-input.txt").read_text()
    assert err.value.filename == str(tmp_path / "missing-input.txt")
    with pytest.raises(FileNotFoundError), atomic_dir(tmp_path / "index"):
        (tmp_path / "missing-shard.npy").read_bytes()
    assert leftovers(tmp_path) == []


def test_outputs_get_ordinary_permissions(tmp_path):
    """mkstemp/mkdtemp create 0600/0700; the renamed output must be readable as any file the user writes."""
    umask = os.umask(0o022)
    os.umask(umask)
    f = atomic_write_text(tmp_path / "run.txt", "x")
    with atomic_dir(tmp_path / "index") as tmp:
        (tmp / "a").write_text("x")
    assert f.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "index").stat().st_mode & 0o777 == 0o777 & ~umask


# --------------------------------------------------------------------------- SIGKILL in the middle of a write
CHILD = """
import sys, time
from tevatron_ext.common.atomic import atomic_open
with atomic_open(sys.argv[1]) as fh:
    for i in range(10**6):
        fh.write("q1 Q0 d%d 1 1.0 t\\n" % i)
        if i % 1000 == 0:
            fh.flush()
            print(i, flush=True)
            time.sleep(0.01)
"""


def test_sigkill_mid_write_leaves_nothing_at_the_final_path(tmp_path):
    out = tmp_path / "run.txt"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(5):  # wait until it is writing
            assert proc.stdout.readline()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    tmps = leftovers(tmp_path)
    assert len(tmps) == 1 and tmps[0].startswith(f".run.txt.{proc.pid}-") and tmps[0].endswith(".tmp")  # the torn temp
    atomic_write_text(out, "done\n")  # the rerun writes the output and sweeps the dead writer's temporary
    assert out.read_text() == "done\n" and leftovers(tmp_path) == ["run.txt"]


def test_stale_temporaries_of_dead_writers_are_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    tag = atomic._host_tag()
    names = {
        f".run.txt.{dead_pid}-{tag}.abc123_x.tmp": False,  # swept: this output, a dead writer, this host
        f".run.txt.{os.getppid()}-{tag}.abc123_x.tmp": True,  # kept: the writer is alive
        f".run.txt.{dead_pid}-000000.abc123_x.tmp": True,  # kept: another host's writer
        f".run.txt.manifest.json.{dead_pid}-{tag}.abc123_x.tmp": True,  # kept: another output's temporary
        f".run.txt.5.{dead_pid}-{tag}.abc123_x.tmp": True,  # kept: the output "run.txt.5"
        ".run.txt.abc123_x.tmp": True,  # kept: not our naming
    }
    for n in names:
        (tmp_path / n).write_text("torn")
    (tmp_path / f".index.{dead_pid}-{tag}.zz9_zz9z.tmp").mkdir()  # a torn directory
    (tmp_path / f".index.{dead_pid}-{tag}.zz9_zz9z.tmp" / "part").write_text("x")
    atomic_write_text(tmp_path / "run.txt", "x")
    with atomic_dir(tmp_path / "index"):
        pass
    assert set(leftovers(tmp_path)) == {"run.txt", "index", *(n for n, keep in names.items() if keep)}


# --------------------------------------------------------------------------- manifests
def test_manifest_round_trip_and_is_complete(tmp_path):
    out = tmp_path / "run.txt"
    inp = tmp_path / "topics.tsv"
    inp.write_text("q1\tx\n")
    atomic_write_text(out, "q1 Q0 d 1 1.0 t\n")
    assert read_manifest(out) is None and not is_complete(out)
    write_manifest(out, kind="run", counts={"lines": 1}, inputs={"topics": inp}, config={"k": 1}, seed=7)
    m = read_manifest(out)
    assert m["complete"] is True and m["counts"] == {"lines": 1} and m["seed"] == 7
    assert len(m["inputs"]["topics"]["sha256"]) == 64 and is_complete(out)
    assert manifest_path(out) == tmp_path / "run.txt.manifest.json"


@pytest.mark.parametrize("body", [
    None,  # missing
    b"",  # empty
    b'{"kind": "run", "complete": tr',  # truncated
    b"\xff\xfe{}",  # not UTF-8
    b"[1, 2]",  # not an object
    b'"complete"',
    b'{"kind": "run"}',  # incomplete: no "complete"
    b'{"kind": "run", "complete": false}',
    b'{"kind": "run", "complete": "true"}',  # a string is not True
    b'{"kind": "run", "complete": 1}',
    b"NaN",
])
def test_read_manifest_none_for_missing_invalid_incomplete(tmp_path, body):
    out = tmp_path / "run.txt"
    out.write_text("x")
    if body is not None:
        manifest_path(out).write_bytes(body)
    assert read_manifest(out) is None and not is_complete(out)


def test_read_manifest_none_when_the_output_is_missing(tmp_path):
    out = tmp_path / "run.txt"
    out.write_text("x")
    write_manifest(out, kind="run")
    assert is_complete(out)
    out.unlink()  # a manifest without its output is not a finished step
    assert read_manifest(out) is None


def test_manifest_of_a_directory_lives_inside(tmp_path):
    out = tmp_path / "index"
    with atomic_dir(out) as tmp:
        (tmp / "docid").write_text("a\n")
        write_manifest(out, kind="index", manifest=tmp / "manifest.json", counts={"docs": 1})
    assert manifest_path(out) == out / "manifest.json" and read_manifest(out)["counts"] == {"docs": 1}
    (out / "manifest.json").write_text(json.dumps({"complete": False}))
    assert read_manifest(out) is None
    (out / "manifest.json").unlink()
    assert read_manifest(out) is None


def test_manifest_write_is_atomic_too(tmp_path, monkeypatch):
    out = tmp_path / "run.txt"
    out.write_text("x")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(OutputError, match="disk is full"):
        write_manifest(out, kind="run")
    assert leftovers(tmp_path) == ["run.txt"] and read_manifest(out) is None


def test_umask_lookup_matches_the_process():
    atomic._umask.cache_clear()
    try:
        old = os.umask(0o027)
        assert atomic._umask() == 0o027
    finally:
        os.umask(old)
        atomic._umask.cache_clear()
