"""Unplanned nursing and care adapters (VVT): beds per care type, district nursing, busyness."""
