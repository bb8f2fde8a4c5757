"""Vocab stage: tokenizer coverage per script, and vocabulary extension for unseen scripts."""
