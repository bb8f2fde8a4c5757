"""Dense stage: encode a corpus into a FAISS index (Pyserini's writer) and search it (Pyserini's searcher)."""
