"""The pure rules of trust: roles, ownership, a ZCV's regions, rate limits, the audit chain."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from api.audit import outcome_of, target_of
from api.keys import new_key, prunable, signing_key_of
from core.access import check_owner, check_regions, check_role, readable_regions
from core.audit_chain import GENESIS, AuditRecord, chain, first_break
from core.credentials import device_key_hash, hash_secret, new_secret, secret_matches
from core.identity import Principal
from core.ratelimit import Limit, RateLimiter, TokenBucket
from core.refusals import Forbidden

NEIGHBOURS = {"west": ("noord-holland-flevoland", "midden-nederland", "zuidwest"),
              "zuidwest": ("west", "brabant"), "noord-nederland": ("zwolle",)}
WEST = Principal(subject="zcv-1", organization="zcv-west", role="zcv", regions=("west",))
PROVIDER = Principal(subject="p-1", organization="umcg", role="provider")


def test_roles_are_checked_by_name() -> None:
    check_role(PROVIDER, {"provider"}, "push")
    with pytest.raises(Forbidden) as refused:
        check_role(WEST, {"provider"}, "push fhir-r4/MeasureReport")
    assert refused.value.issues[0].diagnostics == (
        "role zcv may not push fhir-r4/MeasureReport; allowed: provider")
    assert refused.value.http_status == 403


def test_a_provider_owns_only_its_organisations_things() -> None:
    check_owner(PROVIDER, "umcg", "Location/umcg-1")
    with pytest.raises(Forbidden) as refused:
        check_owner(PROVIDER, "isala", "Location/isala-1")
    assert "Location/isala-1 belongs to Organization/isala" in str(refused.value)


def test_a_zcv_reads_its_regions_and_their_neighbours_only() -> None:
    assert readable_regions(WEST, NEIGHBOURS) == frozenset({
        "west", "noord-holland-flevoland", "midden-nederland", "zuidwest"})
    check_regions(WEST, ["west", "zuidwest"], NEIGHBOURS)
    with pytest.raises(Forbidden, match="noord-nederland is not coordinated"):
        check_regions(WEST, ["noord-nederland"], NEIGHBOURS)
    with pytest.raises(Forbidden, match="national grant"):
        check_regions(WEST, None, NEIGHBOURS)
    # A neighbour's neighbour is not a neighbour.
    with pytest.raises(Forbidden, match="brabant"):
        check_regions(WEST, ["zuidwest", "brabant"], NEIGHBOURS)


def test_a_national_grant_reads_everything() -> None:
    national = dataclasses.replace(WEST, national=True)
    assert readable_regions(national, NEIGHBOURS) is None
    check_regions(national, None, NEIGHBOURS)
    check_regions(national, ["noord-nederland"], NEIGHBOURS)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(Limit(rate=2.0, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0  # one token back after half a second
    assert bucket.take(0.5) > 0


def test_one_client_exhausting_its_bucket_does_not_slow_another() -> None:
    limiter, limit = RateLimiter(), Limit(rate=1.0, burst=2)
    assert [limiter.take("greedy", limit, 0.0) > 0 for _ in range(4)] == [
        False, False, True, True]
    assert limiter.take("polite", limit, 0.0) == 0.0


def test_the_limiter_forgets_the_least_recent_callers_first() -> None:
    limiter, limit = RateLimiter(max_keys=2), Limit(rate=1.0, burst=1)
    limiter.take("a", limit, 0.0)
    limiter.take("b", limit, 0.0)
    limiter.take("c", limit, 0.0)  # "a" is forgotten: a full bucket again
    assert limiter.take("a", limit, 0.0) == 0.0
    assert limiter.take("c", limit, 0.0) > 0


def _record(n: int, **changes: object) -> AuditRecord:
    record = AuditRecord(at=datetime(2026, 12, 3, 12, 0, n, tzinfo=UTC), request_id=f"r{n}",
                         client_id="p-1", organization="umcg", role="provider",
                         action="push fhir-r4/MeasureReport", target="Location/umcg-1",
                         outcome="accepted", status=202)
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_the_chain_links_each_record_to_the_one_before() -> None:
    records = [_record(n) for n in range(3)]
    links = chain(GENESIS, records)
    assert links[0][0] == GENESIS
    assert [prev for prev, _ in links[1:]] == [current for _, current in links[:-1]]
    previous = None
    for seq, (record, (prev, current)) in enumerate(zip(records, links, strict=True)):
        assert first_break(previous, seq, record, prev, current) is None
        previous = current


def test_a_changed_record_or_a_removed_one_breaks_the_chain() -> None:
    records = [_record(n) for n in range(3)]
    links = chain(GENESIS, records)
    changed = _record(1, outcome="refused")
    problem = first_break(links[0][1], 1, changed, *links[1])
    assert problem is not None and "content does not match" in problem.problem
    # Record 1 removed: record 2's previous hash is not record 0's hash.
    problem = first_break(links[0][1], 2, records[2], *links[2])
    assert problem is not None and "removed or inserted" in problem.problem


def test_the_hash_does_not_depend_on_the_time_zone_it_is_read_in() -> None:
    record = _record(1)
    amsterdam = dataclasses.replace(
        record, at=record.at.astimezone(datetime.now().astimezone().tzinfo))
    assert chain(GENESIS, [record]) == chain(GENESIS, [amsterdam])


def test_outcomes_and_targets_of_audited_requests() -> None:
    assert [outcome_of(s) for s in (200, 202, 401, 403, 422, 503)] == [
        "accepted", "accepted", "refused", "refused", "refused", "failed"]
    scope = {"path": "/osmand", "query_string": b"id=car-1&key=SECRET&lat=52.1"}
    assert target_of(scope) == "/osmand?id=car-1&lat=52.1"  # the device key is never kept


def test_client_secrets_are_kept_as_argon2id_and_device_keys_as_sha256() -> None:
    secret = new_secret()
    stored = hash_secret(secret)
    assert stored.startswith("$argon2id$") and secret not in stored
    assert secret_matches(stored, secret) and not secret_matches(stored, secret + "x")
    assert not secret_matches("not a hash", secret)
    assert len(device_key_hash(secret)) == 32 and device_key_hash(secret) != device_key_hash("x")


def test_a_new_key_signs_only_after_its_lead_and_old_keys_are_pruned_after_tokens_expire(
) -> None:
    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    lead, ttl = timedelta(minutes=5), timedelta(minutes=30)
    old, new = new_key(t0), new_key(t0 + timedelta(hours=1))
    assert signing_key_of([old], t0, lead) is old  # the first key signs at once
    during = t0 + timedelta(hours=1, minutes=1)
    assert signing_key_of([old, new], during, lead) is old  # published, not yet signing
    after = t0 + timedelta(hours=1, minutes=6)
    assert signing_key_of([old, new], after, lead) is new
    assert prunable([old, new], after, lead, ttl) == []  # old tokens still live
    later = t0 + timedelta(hours=1, minutes=36)
    assert prunable([old, new], later, lead, ttl) == [old]


def test_refusals_of_region_reads_name_the_region_and_what_is_readable() -> None:
    readable = "midden-nederland, noord-holland-flevoland, west, zuidwest"
    with pytest.raises(Forbidden) as refused:
        check_regions(WEST, ["noord-nederland", "brabant", "west"], NEIGHBOURS)
    [issue] = refused.value.issues
    assert (issue.expression, issue.diagnostics) == (
        "region", f"region brabant, noord-nederland is not coordinated by "
                  f"Organization/zcv-west; readable: {readable}")
    with pytest.raises(Forbidden) as national:
        check_regions(WEST, None, NEIGHBOURS)
    assert national.value.issues[0].diagnostics == (
        "a national read needs a national grant; ask for region=<code> (your regions: "
        f"{readable})")


def test_a_zcv_of_two_regions_reads_both_and_all_their_neighbours() -> None:
    two = dataclasses.replace(WEST, regions=("west", "noord-nederland"))
    assert readable_regions(two, NEIGHBOURS) == frozenset({
        "west", "noord-holland-flevoland", "midden-nederland", "zuidwest", "noord-nederland",
        "zwolle"})
    check_regions(two, [], NEIGHBOURS)  # asking for nothing is never outside
    lonely = dataclasses.replace(WEST, regions=("euregio",))
    assert readable_regions(lonely, NEIGHBOURS) == frozenset({"euregio"})


def test_role_and_owner_refusals_name_their_element() -> None:
    with pytest.raises(Forbidden) as role:
        check_role(WEST, set(), "read")
    assert (role.value.issues[0].expression, role.value.issues[0].diagnostics) == (
        "role", "role zcv may not read; allowed: nobody")
    with pytest.raises(Forbidden) as owner:
        check_owner(PROVIDER, "isala", "Location/isala-1", "Bundle.entry[0]")
    assert (owner.value.issues[0].expression, owner.value.issues[0].diagnostics) == (
        "Bundle.entry[0]", "Location/isala-1 belongs to Organization/isala; this client acts "
                           "for Organization/umcg")
