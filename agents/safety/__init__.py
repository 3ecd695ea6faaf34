"""The safety layer every tool call passes through: levels and allowlists, argument validation,
redaction, truncation, loop guards. Pure code: nothing here talks to a cluster or a model."""
