"""Registers the 25 RAV regions as locations, so region-level ambulance figures have a place.

Idempotent; run after the migrations (by `make up` and by `python -m storage.migrate`).
"""

from __future__ import annotations

import psycopg

from definitions import load_catalogue
from definitions.catalogue import rav_location_id
from storage.jsonb import jsonb


def seed_rav_regions(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Upsert one organisation and one location per RAV region; returns how many."""
    regions = load_catalogue().safety_regions.values()
    for region in regions:
        rid = rav_location_id(region.code)
        name = f"RAV {region.name}"
        conn.execute(
            "INSERT INTO organization (id, name, resource) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            (rid, name, jsonb({"resourceType": "Organization", "id": rid, "name": name})))
        conn.execute(
            "INSERT INTO location (id, organization_id, name, sector, roaz_region, latitude,"
            " longitude, veiligheidsregio, resource) VALUES (%s, %s, %s, 'ambulance', %s, %s,"
            " %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
            " roaz_region = EXCLUDED.roaz_region, latitude = EXCLUDED.latitude,"
            " longitude = EXCLUDED.longitude",
            (rid, rid, name, region.roaz_region, region.centre[0], region.centre[1], region.code,
             jsonb({"resourceType": "Location", "id": rid, "name": name, "mode": "kind"})))
    return len(regions)
