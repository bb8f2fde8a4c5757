"""Report stage: significance tests and generated leaderboards (Markdown, CSV, JSON, HTML, PNG)."""
