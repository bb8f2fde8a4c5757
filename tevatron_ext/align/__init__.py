"""Cross-lingual lexical alignment: probe every layer with translation word pairs, and inject
alignment with early-layer LoRA (Targeted Lexical Injection, arXiv 2506.15415).

* :func:`~tevatron_ext.align.pairs.load_pairs`: word pairs (``am-en``, ``km-en`` or a TSV) split
  into ``trained`` and ``control``.
* :func:`~tevatron_ext.align.probe.probe`: per-layer cosine of translation pairs, with a
  mismatched-pair baseline -> ``probe.json``, ``probe.md``, ``probe.png``.
* :func:`~tevatron_ext.align.inject.inject`: LoRA on early layers trained with a symmetric InfoNCE
  loss at a target layer; probe before/after with paired t-tests -> ``inject.json``, ``inject.md``,
  ``adapter/`` and optionally ``merged/``.

Heavy libraries (torch, transformers, peft, matplotlib) are imported inside functions.
"""
from __future__ import annotations
