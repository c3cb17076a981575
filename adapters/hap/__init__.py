"""HAP adapters (huisartsenpost, GP out-of-hours post)."""
