"""Recipe stage: a YAML experiment matrix (conditions x collections) and its generic runner."""
