"""Shared building blocks: settings, canonical messages, logging and metrics."""
