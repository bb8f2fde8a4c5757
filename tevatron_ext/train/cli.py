"""``tevatron-ext train``."""
from __future__ import annotations

import click


@click.command()
@click.option("--model", "-m", default=None, help="Base encoder: zoo name, folder with encoder_config.json, or hub id.")
@click.option("--train", "train_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Tevatron raw JSONL (repeatable).")
@click.option("--out", "-o", default=None, type=click.Path(), help="Output model folder.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="YAML/JSON training config; flags override it.")
@click.option("--group-size", type=int, default=None, help="1 positive + N-1 hard negatives per query [2].")
@click.option("--batch-size", type=int, default=None, help="Queries per device per step [16].")
@click.option("--epochs", type=float, default=None, help="[1.0]")
@click.option("--max-steps", type=int, default=None, help="Overrides epochs when > 0.")
@click.option("--lr", "learning_rate", type=float, default=None, help="[2e-5]")
@click.option("--warmup-ratio", type=float, default=None)
@click.option("--temperature", type=float, default=None, help="Softmax temperature [the contract's].")
@click.option("--query-max-length", type=int, default=None)
@click.option("--passage-max-length", type=int, default=None)
@click.option("--untied", is_flag=True, default=None, help="Separate query and passage encoders.")
@click.option("--freeze-word-embeddings", is_flag=True, default=None, help="Freeze the word-embedding table (CPU-friendly).")
@click.option("--bf16", is_flag=True, default=None, help="bf16 mixed precision (CPU autocast or GPU).")
@click.option("--fp16", is_flag=True, default=None)
@click.option("--grad-accum", "gradient_accumulation_steps", type=int, default=None)
@click.option("--gradient-checkpointing", is_flag=True, default=None)
@click.option("--save-steps", type=int, default=None, help="Checkpoint every N steps [500].")
@click.option("--logging-steps", type=int, default=None)
@click.option("--seed", type=int, default=None, help="[42]")
@click.option("--device", default=None, help="cpu or cuda [cpu]; multi-GPU: launch with torchrun.")
@click.option("--no-resume", "resume", flag_value=False, default=None, help="Ignore existing checkpoints.")
def train(**kw) -> None:
    """Tevatron-style contrastive fine-tuning (in-batch + hard negatives) of a dense retriever."""
    from .trainer import config_from_cli
    from .trainer import train as do_train

    kw["train_files"] = list(kw["train_files"]) or None
    m = do_train(config_from_cli(**kw))
    met = m.get("metrics", {})
    click.echo(f"trained {m['config']['base_model']} -> {m['output']}: {m['counts']['steps']} steps, "
               f"{met.get('train_samples_per_second', 0):.2f} examples/s, loss {m.get('loss_first')} -> {m.get('loss_last')}, "
               f"peak RSS {m.get('peak_rss_mb')} MB")
