"""FAISS indexes in Pyserini's layout: merging shard indexes and converting flat indexes to ANN types."""
