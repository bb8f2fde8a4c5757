"""Mine stage: filter synthetic queries and mine hard negatives into Tevatron training JSONL."""
