"""Acute mental health care adapters (acute GGZ): crisis and HIC beds, IHT, crisis service."""
