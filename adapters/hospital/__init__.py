"""Hospital adapters (ziekenhuis, SEH)."""
