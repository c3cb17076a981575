"""Ambulance adapters (RAV, regionale ambulancevoorziening): the LSIV vehicle feed."""
