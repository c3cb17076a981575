"""The console's page and layout, without a browser: what the board names exists, the page's
configuration cannot break out of its script element, and no file outside the console's
folders is served."""

from __future__ import annotations

import json
import re

import pytest

from api.console_layout import BOARD, board_codes, board_config
from api.console_routes import ASSETS_DIR, content_security_policy, render_page, static_file
from core.refusals import NotFound
from core.settings import Settings
from definitions import load_catalogue
from definitions.catalogue import SECTORS


def test_every_sector_has_a_table_and_every_item_on_the_board_is_defined() -> None:
    catalogue = load_catalogue()
    assert [b.sector for b in BOARD] and {b.sector for b in BOARD} == set(SECTORS)
    assert sorted(c for c in board_codes() if catalogue.get(c) is None) == []
    for board in BOARD:
        assert board.places, board.sector
        assert len({c.key for c in board.columns}) == len(board.columns), board.sector
        for code in board.places:
            definition = catalogue.get(code)
            assert definition is not None and definition.value_type == "count"


def test_the_items_the_issue_asks_for_are_on_the_board() -> None:
    codes = board_codes()
    assert {"hospital.seh.status", "hospital.seh.status_reason",
            "hospital.seh.status_expected_end", "hospital.seh.nedocs_band",
            "hospital.beds.ic.available", "hap.uitloop.phone.queue",
            "vvt.beds.elv_palliative.available", "ggz.beds.crisis.available",
            "ambulance.available.a1", "ambulance.available.a2",
            "ambulance.available.b"} <= codes


def test_the_page_config_carries_labels_regions_and_tiles() -> None:
    config = board_config(load_catalogue())
    assert config["items"]["hospital.seh.status"]["codes"]["stop"].startswith("stop")
    assert config["items"]["hospital.beds.ic.available"]["freshness_seconds"] == 15 * 60
    west = next(r for r in config["regions"] if r["code"] == "west")
    assert "zuidwest" in west["neighbours"]
    assert config["vehicle_statuses"]["5"]["available"] is True


def test_the_inlined_config_cannot_end_its_script_element() -> None:
    settings = Settings(console_tile_attribution="</script><script>alert(1)</script>")
    page = render_page(settings)
    assert "<script>alert(1)" not in page
    inlined = re.search(r'<script type="application/json" id="console-config">(.*?)</script>',
                        page, re.S)
    assert inlined is not None
    config = json.loads(inlined.group(1))
    assert config["tile_attribution"] == "</script><script>alert(1)</script>"
    assert config["tile_url"].startswith("https://service.pdok.nl/")


def test_images_may_come_from_the_tile_server_and_nothing_else_from_elsewhere() -> None:
    policy = content_security_policy("https://tiles.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.example.org;" in policy
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy


def test_a_tile_url_without_placeholders_is_refused() -> None:
    with pytest.raises(ValueError, match="console_tile_url"):
        Settings(console_tile_url="https://tiles.example.org/map.png")


@pytest.mark.parametrize("path", ["../console_routes.py", "../../app.py", "/etc/passwd",
                                  "nothing.js", ""])
def test_only_files_inside_the_folder_are_served(path: str) -> None:
    with pytest.raises(NotFound):
        static_file(ASSETS_DIR, path)


def test_scripts_are_served_as_javascript_modules_need() -> None:
    answer = static_file(ASSETS_DIR, "app.js")
    assert answer.media_type == "text/javascript"
    assert answer.headers["cache-control"] == "no-cache"
