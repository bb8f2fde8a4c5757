"""Train stage: Tevatron-style contrastive fine-tuning (``tevatron-ext train``)."""
