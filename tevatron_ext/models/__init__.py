"""Models stage: the offline model zoo, the encoder contract, the dense encoder (one pooling)."""
