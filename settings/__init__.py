"""Settings of every package: one section each, composed by settings.root."""
