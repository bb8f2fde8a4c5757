"""``tevatron-ext align probe | inject``."""
from __future__ import annotations

import click

from ..common.errors import ConfigError


def _ints(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {value!r}") from None


def _common(f):
    for opt in reversed((
        click.option("--model", "-m", required=True, help="Zoo name, model folder or hub id."),
        click.option("--pairs", "-p", required=True,
                     help="Word pairs: am-en, km-en (shipped) or a TSV source<TAB>target[<TAB>category[<TAB>split]]."),
        click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Output folder."),
        click.option("--max-pairs", type=int, default=None, help="At most N pairs of each split (file order)."),
        click.option("--seed", default=0, show_default=True, help="Seed (mismatched baseline; training)."),
        click.option("--device", default="auto", show_default=True, help="auto (cuda if available), cpu, cuda, ..."),
        click.option("--load-4bit", is_flag=True, help="NF4 quantised weights (needs bitsandbytes and a CUDA GPU)."),
    )):
        f = opt(f)
    return f


@click.group()
def align() -> None:
    """Cross-lingual lexical alignment: probe every layer with translation word pairs, and inject
    alignment with early-layer LoRA (Targeted Lexical Injection, arXiv 2506.15415)."""


@align.command(short_help="Per-layer cosine of translation pairs, with a mismatched baseline.")
@_common
@click.option("--batch-size", default=64, show_default=True, help="Words per forward pass.")
def probe(model, pairs, out, max_pairs, seed, device, load_4bit, batch_size) -> None:
    """Cosine of translation pairs at every layer (trained, control and a mismatched baseline)
    -> OUT/probe.json, probe.md, probe.png."""
    from .probe import ProbeConfig
    from .probe import probe as run_probe

    res = run_probe(ProbeConfig(model=model, pairs=pairs, out=out, batch_size=batch_size, max_pairs=max_pairs,
                                seed=seed, device=device, load_4bit=load_4bit), log=click.echo)
    last = res["layers"][-1]
    click.echo(f"output layer {last['layer']}: trained {last['trained']['mean']:.4f}, "
               f"mismatched {last['mismatched']['mean']:.4f}")


@align.command(short_help="Targeted Lexical Injection (early-layer LoRA), before/after t-tests.")
@_common
@click.option("--rank", default=16, show_default=True, help="LoRA rank (paper: 16).")
@click.option("--alpha", default=32, show_default=True, help="LoRA alpha (paper: 32).")
@click.option("--dropout", default=0.05, show_default=True, help="LoRA dropout (paper: 0.05).")
@click.option("--layers", default="0,1", show_default=True, help="Blocks that get LoRA (all below --target-layer).")
@click.option("--target-layer", default=2, show_default=True, help="Hidden state the loss aligns (paper: 2).")
@click.option("--target-modules", default=None,
              help="Comma-separated module names (default: the family's attention projections).")
@click.option("--steps", default=200, show_default=True)
@click.option("--lr", default=5e-4, show_default=True)
@click.option("--batch-size", default=32, show_default=True, help="Pairs per step (in-batch negatives).")
@click.option("--temperature", default=0.05, show_default=True, help="InfoNCE temperature.")
@click.option("--eval-batch-size", default=64, show_default=True, help="Words per forward pass in the probes.")
@click.option("--merge/--no-merge", default=False, show_default=True, help="Also write a merged model to OUT/merged.")
def inject(model, pairs, out, max_pairs, seed, device, load_4bit, rank, alpha, dropout, layers, target_layer,
           target_modules, steps, lr, batch_size, temperature, eval_batch_size, merge) -> None:
    """Targeted Lexical Injection: LoRA on early blocks, symmetric InfoNCE on trained pairs at
    --target-layer; probe before/after with paired t-tests -> OUT/inject.json, inject.md, adapter/."""
    from .inject import InjectConfig
    from .inject import inject as run_inject

    modules = tuple(m.strip() for m in target_modules.split(",") if m.strip()) if target_modules else None
    res = run_inject(InjectConfig(model=model, pairs=pairs, out=out, rank=rank, alpha=alpha, dropout=dropout,
                                  layers=_ints(layers), target_layer=target_layer, target_modules=modules,
                                  steps=steps, lr=lr, batch_size=batch_size, temperature=temperature, seed=seed,
                                  merge=merge, max_pairs=max_pairs, eval_batch_size=eval_batch_size, device=device,
                                  load_4bit=load_4bit), log=click.echo)
    for where, block in res["tests"].items():
        for name in ("trained", "control"):
            t = block[name]
            if t["mean_before"] is None:
                continue
            p = "–" if t["pvalue"] is None else f"{t['pvalue']:.3g}"
            click.echo(f"layer {block['layer']} ({where.replace('_', ' ')}) {name}: "
                       f"{t['mean_before']:.4f} -> {t['mean_after']:.4f} (p={p}, n={t['n']})")
