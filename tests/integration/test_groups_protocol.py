"""Consumer groups (classic protocol) over the raw protocol: every advertised version of
FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
DescribeGroups, ListGroups and DeleteGroups; the error codes Kafka answers (MEMBER_ID_REQUIRED,
ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION,
OFFSET_METADATA_TOO_LARGE, INVALID_SESSION_TIMEOUT, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND,
INCONSISTENT_GROUP_PROTOCOL, GROUP_SUBSCRIBED_TO_TOPIC); session expiry and the rebalance
timeout; OffsetFetch v8 with several groups; OffsetDelete.  After each, the broker keeps
serving."""

import harness
import kproto
from harness import Broker
from kproto import (DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP,
                    LEAVE_GROUP, LIST_GROUPS, OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH,
                    SYNC_GROUP)

TOPIC = "gp"
BASE = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 500,
        "group.max.session.timeout.ms": 30000, "offsets.topic.num.partitions": 3,
        "num.partitions": 1}
GROUP_APIS = (FIND_COORDINATOR, JOIN_GROUP, SYNC_GROUP, HEARTBEAT, LEAVE_GROUP, OFFSET_COMMIT,
              OFFSET_FETCH, DESCRIBE_GROUPS, LIST_GROUPS, DELETE_GROUPS)
# Errors a client retries while the coordinator starts or loads __consumer_offsets.
LOADING = (14, 15, 16)


def broker(name, **overrides):
    cfg = dict(BASE)
    cfg.update(overrides)
    return Broker(cfg, name=name)


def advertised(c, key):
    if c.versions is None:
        c.api_versions(0)
    assert key in c.versions, "api key %d not advertised: %r" % (key, sorted(c.versions))
    lo, hi = c.versions[key]
    ours = kproto.SCHEMAS[key][2]
    return range(max(lo, ours[0]), min(hi, ours[-1]) + 1)


def vmax(c, key, cap=None):
    r = advertised(c, key)
    return r[-1] if cap is None else min(r[-1], cap)


def wait_coordinator(b, group, timeout_s=30):
    """FindCoordinator until it names this broker (bounded); returns the answer."""
    def ready():
        with b.client() as c:
            v = vmax(c, FIND_COORDINATOR, 3)
            resp = c.call(FIND_COORDINATOR, v, {"key": group, "key_type": 0})
            return resp if resp["error_code"] == 0 else None
    return harness.wait_for(ready, timeout_s, 0.1, "FindCoordinator(%s) without error" % group)


def join(c, group, member_id="", version=None, session_ms=10000, rebalance_ms=10000,
         topics=(TOPIC,), protocols=None, protocol_type="consumer", instance_id=None,
         timeout=None):
    v = vmax(c, JOIN_GROUP) if version is None else version
    if protocols is None:
        protocols = [{"name": "range", "metadata": kproto.consumer_subscription(list(topics))}]
    return c.call(JOIN_GROUP, v, {
        "group_id": group, "session_timeout_ms": session_ms, "rebalance_timeout_ms": rebalance_ms,
        "member_id": member_id, "group_instance_id": instance_id, "protocol_type": protocol_type,
        "protocols": protocols, "reason": None}, timeout=timeout)


def send_join(c, group, member_id, version=None, session_ms=10000, rebalance_ms=10000,
              topics=(TOPIC,)):
    """Sends a JoinGroup without waiting (it parks until the rebalance completes); returns a
    function that receives the answer."""
    v = vmax(c, JOIN_GROUP) if version is None else version
    body = kproto.JOIN_GROUP_REQ.encode(v, {
        "group_id": group, "session_timeout_ms": session_ms, "rebalance_timeout_ms": rebalance_ms,
        "member_id": member_id, "group_instance_id": None, "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": kproto.consumer_subscription(list(topics))}],
        "reason": None})
    cid = c.send_request(JOIN_GROUP, v, body)
    return lambda timeout=None: c.recv_response(JOIN_GROUP, v, cid, timeout=timeout)


def join_member(c, group, version=None, **kw):
    """Joins as a new member, answering MEMBER_ID_REQUIRED (v4+) by rejoining with the given id.
    Returns the successful JoinGroup response."""
    v = vmax(c, JOIN_GROUP) if version is None else version
    resp = join(c, group, "", version=v, **kw)
    if v >= 4:
        assert resp["error_code"] == kproto.MEMBER_ID_REQUIRED, \
            "JoinGroup v%d with an empty member id: expected MEMBER_ID_REQUIRED (79): %r" % (v, resp)
        assert resp["member_id"], "MEMBER_ID_REQUIRED must carry the member id: %r" % resp
        resp = join(c, group, resp["member_id"], version=v, **kw)
    assert resp["error_code"] == 0, "JoinGroup v%d: %r" % (v, resp)
    assert resp["member_id"] and resp["generation_id"] >= 1, resp
    return resp


def sync(c, group, generation, member_id, assignments=(), version=None, timeout=None):
    v = vmax(c, SYNC_GROUP) if version is None else version
    return c.call(SYNC_GROUP, v, {
        "group_id": group, "generation_id": generation, "member_id": member_id,
        "group_instance_id": None, "protocol_type": "consumer", "protocol_name": "range",
        "assignments": [{"member_id": m, "assignment": a} for m, a in assignments]},
        timeout=timeout)


def heartbeat(c, group, generation, member_id, version=None):
    v = vmax(c, HEARTBEAT) if version is None else version
    return c.call(HEARTBEAT, v, {"group_id": group, "generation_id": generation,
                                 "member_id": member_id, "group_instance_id": None})


def leave(c, group, member_ids, version=None):
    v = vmax(c, LEAVE_GROUP) if version is None else version
    if v <= 2:
        (m,) = member_ids
        return c.call(LEAVE_GROUP, v, {"group_id": group, "member_id": m})
    return c.call(LEAVE_GROUP, v, {"group_id": group, "members": [
        {"member_id": m, "group_instance_id": None, "reason": "test"} for m in member_ids]})


def commit(c, group, offsets, generation=-1, member_id="", version=None, metadata="m"):
    """offsets: {(topic, partition): offset or (offset, metadata)}.  Returns
    {(topic, partition): error_code}."""
    v = vmax(c, OFFSET_COMMIT) if version is None else version
    topics = {}
    for (t, p), o in offsets.items():
        off, meta = o if isinstance(o, tuple) else (o, metadata)
        topics.setdefault(t, []).append({"partition_index": p, "committed_offset": off,
                                         "committed_metadata": meta})
    resp = c.call(OFFSET_COMMIT, v, {
        "group_id": group, "generation_id": generation, "member_id": member_id,
        "group_instance_id": None, "topics": [{"name": t, "partitions": ps}
                                              for t, ps in topics.items()]})
    out = {}
    for t in resp["topics"]:
        for p in t["partitions"]:
            out[(t["name"], p["partition_index"])] = p["error_code"]
    assert set(out) == set(offsets), "OffsetCommit v%d answered %r for %r" % (v, out, offsets)
    return out


def fetch_offsets(c, group, partitions=None, version=None):
    """Returns (top-level error, {(topic, partition): (offset, metadata, error)}).  partitions
    None asks for every committed partition (v2+)."""
    v = vmax(c, OFFSET_FETCH) if version is None else version
    topics = None
    if partitions is not None:
        by_topic = {}
        for t, p in partitions:
            by_topic.setdefault(t, []).append(p)
        topics = [{"name": t, "partition_indexes": ps} for t, ps in by_topic.items()]
    if v >= 8:
        resp = c.call(OFFSET_FETCH, v, {"groups": [{"group_id": group, "topics": topics}],
                                        "require_stable": True})
        (g,) = resp["groups"]
        assert g["group_id"] == group, resp
        return g["error_code"], _offsets_of(g["topics"])
    resp = c.call(OFFSET_FETCH, v, {"group_id": group, "topics": topics, "require_stable": True})
    return resp.get("error_code", 0), _offsets_of(resp["topics"])


def _offsets_of(topics):
    return {(t["name"], p["partition_index"]): (p["committed_offset"], p["metadata"], p["error_code"])
            for t in topics for p in t["partitions"]}


def describe(c, groups, version=None):
    v = vmax(c, DESCRIBE_GROUPS) if version is None else version
    resp = c.call(DESCRIBE_GROUPS, v, {"groups": list(groups),
                                       "include_authorized_operations": False})
    return {g["group_id"]: g for g in resp["groups"]}


def list_groups(c, version=None, states=None):
    v = vmax(c, LIST_GROUPS) if version is None else version
    resp = c.call(LIST_GROUPS, v, {"states_filter": states or []})
    assert resp["error_code"] == 0, resp
    return {g["group_id"]: g for g in resp["groups"]}


def delete_groups(c, groups, version=None):
    v = vmax(c, DELETE_GROUPS) if version is None else version
    resp = c.call(DELETE_GROUPS, v, {"groups_names": list(groups)})
    return {r["group_id"]: r["error_code"] for r in resp["results"]}


def stable_member(c, group, topics=(TOPIC,), **kw):
    """Joins a new one-member group and syncs an assignment of every partition 0; returns
    (member_id, generation)."""
    resp = join_member(c, group, topics=topics, **kw)
    assert resp["leader"] == resp["member_id"], resp
    assignment = kproto.consumer_assignment({t: [0] for t in topics})
    s = sync(c, group, resp["generation_id"], resp["member_id"],
             [(resp["member_id"], assignment)])
    assert s["error_code"] == 0, s
    assert s["assignment"] == assignment, s
    return resp["member_id"], resp["generation_id"]


@harness.timeout(90)
def test_find_coordinator_every_version():
    with broker("gp-fc") as b:
        wait_coordinator(b, "fc")
        with b.client() as c:
            md, _ = c.metadata([], auto_create=False)
            (me,) = md["brokers"]
            for v in advertised(c, FIND_COORDINATOR):
                if v <= 3:
                    resp = c.call(FIND_COORDINATOR, v, {"key": "fc-%d" % v, "key_type": 0})
                    assert resp["error_code"] == 0, (v, resp)
                    assert (resp["node_id"], resp["host"], resp["port"]) == (
                        me["node_id"], "127.0.0.1", b.port), (v, resp)
                else:
                    resp = c.call(FIND_COORDINATOR, v, {"key_type": 0,
                                                        "coordinator_keys": ["fc-a", "fc-b"]})
                    got = {x["key"]: x for x in resp["coordinators"]}
                    assert set(got) == {"fc-a", "fc-b"}, (v, resp)
                    for x in got.values():
                        assert x["error_code"] == 0, (v, resp)
                        assert (x["node_id"], x["host"], x["port"]) == (
                            me["node_id"], "127.0.0.1", b.port), (v, resp)
        b.assert_alive()


@harness.timeout(120)
def test_group_lifecycle_every_version():
    """For each advertised JoinGroup version v: join (MEMBER_ID_REQUIRED from v4), sync,
    heartbeat, commit, fetch, describe, list and leave with version min(v, that API's max);
    every response decodes with nothing left over."""
    with broker("gp-ver") as b:
        b.create_topic(TOPIC, 2)
        wait_coordinator(b, "ver")
        with b.client() as c:
            md, _ = c.metadata([], auto_create=False)
            for key in GROUP_APIS:
                advertised(c, key)
            for v in advertised(c, JOIN_GROUP):
                group = "ver-%d" % v
                resp = join_member(c, group, version=v)
                me = resp["member_id"]
                gen = resp["generation_id"]
                assert resp["leader"] == me, (v, resp)
                assert resp["protocol_name"] == "range", (v, resp)
                if v >= 7:
                    assert resp["protocol_type"] == "consumer", (v, resp)
                (m,) = resp["members"]
                assert m["member_id"] == me, (v, resp)
                assert kproto.parse_consumer_subscription(m["metadata"])["topics"] == [TOPIC], \
                    (v, resp)

                sv = min(v, vmax(c, SYNC_GROUP))
                assignment = kproto.consumer_assignment({TOPIC: [0, 1]})
                s = sync(c, group, gen, me, [(me, assignment)], version=sv)
                assert s["error_code"] == 0, (v, s)
                assert s["assignment"] == assignment, (v, s)
                if sv >= 5:
                    assert (s["protocol_type"], s["protocol_name"]) == ("consumer", "range"), s

                hv = min(v, vmax(c, HEARTBEAT))
                assert heartbeat(c, group, gen, me, version=hv)["error_code"] == 0, v

                cv = min(v, vmax(c, OFFSET_COMMIT))
                if cv == 0:
                    # v0 has no member id: only groups without members take it.
                    errs = commit(c, group, {(TOPIC, 0): 5 + v, (TOPIC, 1): 7}, version=0)
                    assert set(errs.values()) == {kproto.UNKNOWN_MEMBER_ID}, \
                        "OffsetCommit v0 to a group with members: %r" % errs
                    cv = 1
                errs = commit(c, group, {(TOPIC, 0): 5 + v, (TOPIC, 1): 7}, gen, me, version=cv)
                assert set(errs.values()) == {0}, (v, cv, errs)

                fv = min(v, vmax(c, OFFSET_FETCH))
                err, got = fetch_offsets(c, group, [(TOPIC, 0), (TOPIC, 1)], version=fv)
                assert err == 0, (v, fv, err)
                assert got[(TOPIC, 0)] == (5 + v, "m", 0) and got[(TOPIC, 1)] == (7, "m", 0), \
                    (v, fv, got)
                if fv >= 2:
                    err, every = fetch_offsets(c, group, None, version=fv)
                    assert err == 0 and every == got, "OffsetFetch v%d null topics: %r" % (fv, every)

                dv = min(v, vmax(c, DESCRIBE_GROUPS))
                d = describe(c, [group], version=dv)[group]
                assert d["error_code"] == 0, (v, d)
                assert (d["group_state"], d["protocol_type"], d["protocol_data"]) == (
                    "Stable", "consumer", "range"), (v, d)
                (dm,) = d["members"]
                assert dm["member_id"] == me and dm["client_id"] == c.client_id, (v, dm)
                assert dm["client_host"], (v, dm)
                assert dm["member_assignment"] == assignment, (v, dm)
                assert kproto.parse_consumer_subscription(dm["member_metadata"])["topics"] == [
                    TOPIC], (v, dm)

                lv = min(v, vmax(c, LIST_GROUPS))
                listed = list_groups(c, version=lv)
                assert group in listed and listed[group]["protocol_type"] == "consumer", (v, listed)
                if lv >= 4:
                    assert listed[group]["group_state"] == "Stable", (v, listed)

                xv = min(v, vmax(c, LEAVE_GROUP))
                lresp = leave(c, group, [me], version=xv)
                assert lresp["error_code"] == 0, (v, lresp)
                if xv >= 3:
                    assert [(x["member_id"], x["error_code"]) for x in lresp["members"]] == [
                        (me, 0)], (v, lresp)
                d = describe(c, [group], version=dv)[group]
                assert d["group_state"] == "Empty" and d["members"] == [], (v, d)
                # The offsets outlive the members; an empty group takes member-less commits.
                assert fetch_offsets(c, group, [(TOPIC, 0)])[1][(TOPIC, 0)][0] == 5 + v, v
                ov = min(v, vmax(c, OFFSET_COMMIT))
                assert commit(c, group, {(TOPIC, 1): 70 + v}, version=ov) == {(TOPIC, 1): 0}, \
                    "OffsetCommit v%d without a member to an empty group" % ov
                assert fetch_offsets(c, group, [(TOPIC, 1)], version=fv)[1][(TOPIC, 1)][0] == \
                    70 + v, v

            # __consumer_offsets is an internal topic in Metadata, as in Kafka.
            every, mdv = c.metadata(None, auto_create=False)
            internal = [t for t in every["topics"] if t["name"] == "__consumer_offsets"]
            assert internal, "__consumer_offsets missing from Metadata(all topics)"
            assert internal[0]["is_internal"] is True, internal[0]
            assert len(internal[0]["partitions"]) == BASE["offsets.topic.num.partitions"], \
                len(internal[0]["partitions"])
        b.assert_alive()


@harness.timeout(90)
def test_member_errors():
    """MEMBER_ID_REQUIRED, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, INVALID_GROUP_ID,
    INCONSISTENT_GROUP_PROTOCOL on JoinGroup, SyncGroup, Heartbeat, OffsetCommit, LeaveGroup."""
    with broker("gp-err") as b:
        b.create_topic(TOPIC, 2)
        wait_coordinator(b, "err")
        with b.client() as c:
            jv = vmax(c, JOIN_GROUP)
            assert jv >= 4, "JoinGroup v4+ expected, broker has up to v%d" % jv
            first = join(c, "err", "", version=4)
            assert first["error_code"] == kproto.MEMBER_ID_REQUIRED, first
            assert first["member_id"], first
            assert first["generation_id"] == -1, first
            me, gen = stable_member(c, "err")

            checks = [
                ("Heartbeat with generation+1", heartbeat(c, "err", gen + 1, me)["error_code"],
                 kproto.ILLEGAL_GENERATION),
                ("Heartbeat with generation-1", heartbeat(c, "err", gen - 1, me)["error_code"],
                 kproto.ILLEGAL_GENERATION),
                ("Heartbeat from an unknown member",
                 heartbeat(c, "err", gen, "no-such-member")["error_code"], kproto.UNKNOWN_MEMBER_ID),
                ("Heartbeat to an unknown group",
                 heartbeat(c, "err-none", 1, "no-such-member")["error_code"],
                 kproto.UNKNOWN_MEMBER_ID),
                ("SyncGroup with generation+1", sync(c, "err", gen + 1, me)["error_code"],
                 kproto.ILLEGAL_GENERATION),
                ("SyncGroup from an unknown member", sync(c, "err", gen, "no-such")["error_code"],
                 kproto.UNKNOWN_MEMBER_ID),
                ("JoinGroup with an unknown member id",
                 join(c, "err", "no-such-member")["error_code"], kproto.UNKNOWN_MEMBER_ID),
                ("JoinGroup with an empty group id", join(c, "", "")["error_code"],
                 kproto.INVALID_GROUP_ID),
                ("JoinGroup with no protocols", join(c, "err-np", "", version=3, protocols=[])[
                    "error_code"], kproto.INCONSISTENT_GROUP_PROTOCOL),
                ("JoinGroup with only a protocol the group does not support",
                 join(c, "err", "", version=3, protocols=[
                     {"name": "roundrobin", "metadata": kproto.consumer_subscription([TOPIC])}])[
                     "error_code"], kproto.INCONSISTENT_GROUP_PROTOCOL),
                ("JoinGroup with another protocol type",
                 join(c, "err", "", version=3, protocol_type="connect")["error_code"],
                 kproto.INCONSISTENT_GROUP_PROTOCOL),
            ]
            errs = commit(c, "err", {(TOPIC, 0): 1}, gen + 1, me)
            checks.append(("OffsetCommit with generation+1", errs[(TOPIC, 0)],
                           kproto.ILLEGAL_GENERATION))
            errs = commit(c, "err", {(TOPIC, 0): 1}, gen, "no-such-member")
            checks.append(("OffsetCommit from an unknown member", errs[(TOPIC, 0)],
                           kproto.UNKNOWN_MEMBER_ID))
            errs = commit(c, "err", {(TOPIC, 0): 1}, -1, "")
            checks.append(("OffsetCommit without a member to a non-empty group", errs[(TOPIC, 0)],
                           kproto.UNKNOWN_MEMBER_ID))
            lv = vmax(c, LEAVE_GROUP)
            if lv >= 3:
                resp = leave(c, "err", ["no-such-member"])
                got = [(x["member_id"], x["error_code"]) for x in resp["members"]]
                checks.append(("LeaveGroup v%d of an unknown member (per-member error)" % lv,
                               got, [("no-such-member", kproto.UNKNOWN_MEMBER_ID)]))
            resp = leave(c, "err", ["no-such-member"], version=0)
            checks.append(("LeaveGroup v0 of an unknown member", resp["error_code"],
                           kproto.UNKNOWN_MEMBER_ID))
            bad = ["%s: got %r, expected %r" % (what, got, want) for what, got, want in checks
                   if got != want]
            # None of this disturbed the member.
            hb = heartbeat(c, "err", gen, me)["error_code"]
            if hb != 0:
                bad.append("the member's own heartbeat afterwards: %d" % hb)
            assert not bad, "; ".join(bad)
        b.assert_alive()


@harness.timeout(90)
def test_rebalance_in_progress():
    """A second member's join moves a stable group to PreparingRebalance: the first member's
    SyncGroup and Heartbeat get REBALANCE_IN_PROGRESS (27) while its OffsetCommit of the current
    generation still succeeds (clients commit while revoking); once it rejoins both get the new
    generation, and OffsetCommit during CompletingRebalance gets 27 until the leader syncs."""
    with broker("gp-reb") as b:
        b.create_topic(TOPIC, 2)
        wait_coordinator(b, "reb")
        with b.client() as a, b.client(timeout=30) as bc:
            a_id, gen1 = stable_member(a, "reb")
            jv = vmax(bc, JOIN_GROUP)
            first = join(bc, "reb", "", version=jv)
            if jv >= 4:
                assert first["error_code"] == kproto.MEMBER_ID_REQUIRED, first
                b_id = first["member_id"]
                recv_b = send_join(bc, "reb", b_id, version=jv)
            else:
                recv_b = send_join(bc, "reb", "", version=jv)

            def preparing():
                return describe(a, ["reb"])["reb"]["group_state"] == "PreparingRebalance"
            harness.wait_for(preparing, 20, 0.05, "group state PreparingRebalance")
            problems = []
            s = sync(a, "reb", gen1, a_id)["error_code"]
            if s != kproto.REBALANCE_IN_PROGRESS:
                problems.append("SyncGroup during the rebalance: %d, expected 27" % s)
            h = heartbeat(a, "reb", gen1, a_id)["error_code"]
            if h != kproto.REBALANCE_IN_PROGRESS:
                problems.append("Heartbeat during the rebalance: %d, expected 27" % h)
            errs = commit(a, "reb", {(TOPIC, 0): 3}, gen1, a_id)
            if errs[(TOPIC, 0)] != 0:
                problems.append("OffsetCommit of the current generation during PreparingRebalance:"
                                " %d, expected 0" % errs[(TOPIC, 0)])

            ja = join(a, "reb", a_id, timeout=30)
            jb = recv_b(timeout=30)
            assert ja["error_code"] == 0 and jb["error_code"] == 0, (ja, jb)
            gen2 = ja["generation_id"]
            assert jb["generation_id"] == gen2 and gen2 > gen1, (gen1, ja, jb)
            b_id = jb["member_id"]
            assert ja["leader"] == jb["leader"], (ja, jb)
            leader_conn, follower_conn = (a, bc) if ja["leader"] == a_id else (bc, a)
            leader_resp = ja if ja["leader"] == a_id else jb
            follower_resp = jb if leader_resp is ja else ja
            assert sorted(m["member_id"] for m in leader_resp["members"]) == sorted([a_id, b_id]), \
                leader_resp
            assert follower_resp["members"] == [], "only the leader gets the member list: %r" % (
                follower_resp,)
            errs = commit(a, "reb", {(TOPIC, 0): 4}, gen2, a_id)
            if errs[(TOPIC, 0)] != kproto.REBALANCE_IN_PROGRESS:
                problems.append("OffsetCommit during CompletingRebalance: %d, expected 27"
                                % errs[(TOPIC, 0)])

            # The follower's SyncGroup waits for the leader's.
            fv = vmax(follower_conn, SYNC_GROUP)
            fbody = kproto.SYNC_GROUP_REQ.encode(fv, {
                "group_id": "reb", "generation_id": gen2, "member_id": follower_resp["member_id"],
                "group_instance_id": None, "protocol_type": "consumer", "protocol_name": "range",
                "assignments": []})
            fcid = follower_conn.send_request(SYNC_GROUP, fv, fbody)
            assign = {leader_resp["member_id"]: kproto.consumer_assignment({TOPIC: [0]}),
                      follower_resp["member_id"]: kproto.consumer_assignment({TOPIC: [1]})}
            ls = sync(leader_conn, "reb", gen2, leader_resp["member_id"], list(assign.items()))
            fs = follower_conn.recv_response(SYNC_GROUP, fv, fcid, timeout=20)
            assert ls["error_code"] == 0 and fs["error_code"] == 0, (ls, fs)
            assert ls["assignment"] == assign[leader_resp["member_id"]], ls
            assert fs["assignment"] == assign[follower_resp["member_id"]], fs
            d = describe(a, ["reb"])["reb"]
            assert d["group_state"] == "Stable", d
            assert {m["member_id"]: m["member_assignment"] for m in d["members"]} == assign, d
            for conn, mid in ((a, a_id), (bc, b_id)):
                assert heartbeat(conn, "reb", gen2, mid)["error_code"] == 0
            assert not problems, "; ".join(problems)
        b.assert_alive()


@harness.timeout(60)
def test_invalid_session_timeout():
    with broker("gp-st", **{"group.min.session.timeout.ms": 1000,
                            "group.max.session.timeout.ms": 20000}) as b:
        wait_coordinator(b, "st")
        with b.client() as c:
            problems = []
            for v in (0, 3, vmax(c, JOIN_GROUP)):
                for session in (999, 20001):
                    r = join(c, "st", "", version=v, session_ms=session)
                    if r["error_code"] != kproto.INVALID_SESSION_TIMEOUT:
                        problems.append("JoinGroup v%d session %d: error %d, expected 26" % (
                            v, session, r["error_code"]))
            assert not problems, "; ".join(problems)
            # The bounds themselves are valid.
            join_member(c, "st", session_ms=1000)
            join_member(c, "st-2", session_ms=20000)
        b.assert_alive()


@harness.timeout(60)
def test_offset_commit_errors():
    """Per-partition errors: an unknown topic or partition gets UNKNOWN_TOPIC_OR_PARTITION (3),
    metadata over offset.metadata.max.bytes (4096) OFFSET_METADATA_TOO_LARGE (12); the good
    partitions of the same request are committed."""
    with broker("gp-oc") as b:
        b.create_topic(TOPIC, 2)
        wait_coordinator(b, "oc")
        with b.client() as c:
            errs = commit(c, "oc", {
                (TOPIC, 0): (10, "x" * 4096),
                (TOPIC, 1): (11, "y" * 4097),
                (TOPIC, 7): (12, None),
                ("no-such-topic", 0): (13, None),
            })
            want = {(TOPIC, 0): 0, (TOPIC, 1): kproto.OFFSET_METADATA_TOO_LARGE,
                    (TOPIC, 7): kproto.UNKNOWN_TOPIC_OR_PARTITION,
                    ("no-such-topic", 0): kproto.UNKNOWN_TOPIC_OR_PARTITION}
            assert errs == want, "OffsetCommit per-partition errors %r, expected %r" % (errs, want)
            err, got = fetch_offsets(c, "oc", [(TOPIC, 0), (TOPIC, 1)])
            assert err == 0, err
            assert got[(TOPIC, 0)] == (10, "x" * 4096, 0), got[(TOPIC, 0)][:1]
            assert got[(TOPIC, 1)][0] == -1 and got[(TOPIC, 1)][2] == 0, got[(TOPIC, 1)]
            # A null metadata is stored as no metadata; a later commit replaces the offset.
            assert commit(c, "oc", {(TOPIC, 1): (3, None)}) == {(TOPIC, 1): 0}
            assert commit(c, "oc", {(TOPIC, 0): (2, "again")}) == {(TOPIC, 0): 0}
            err, got = fetch_offsets(c, "oc", [(TOPIC, 0), (TOPIC, 1)])
            assert got[(TOPIC, 0)] == (2, "again", 0), got
            assert got[(TOPIC, 1)][0] == 3 and got[(TOPIC, 1)][1] in ("", None), got
            # A group that never committed: -1 and no error.
            err, got = fetch_offsets(c, "oc-never", [(TOPIC, 0)])
            assert err == 0 and got[(TOPIC, 0)][0] == -1 and got[(TOPIC, 0)][2] == 0, (err, got)
            # auto-create never happens through OffsetCommit.
            md, _ = c.metadata(["no-such-topic"], auto_create=False)
            assert md["topics"][0]["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, md
        b.assert_alive()


@harness.timeout(60)
def test_offset_commit_answers_after_sync():
    """In durable mode an OffsetCommit is answered once its record is synced, like a produce with
    acks=all: when the sync of __consumer_offsets fails (storage.faults), the commit answers
    COORDINATOR_NOT_AVAILABLE and OffsetFetch does not show the offset; a topic outside
    __consumer_offsets keeps serving."""
    with broker("gp-ocsync", **{"offsets.topic.num.partitions": 1,
                                "storage.faults": "fdatasync:EIO:path=__consumer_offsets-0/"}) as b:
        b.create_topic(TOPIC, 1)
        wait_coordinator(b, "ocs")
        with b.client() as c:
            errs = commit(c, "ocs", {(TOPIC, 0): 5})
            assert errs == {(TOPIC, 0): kproto.COORDINATOR_NOT_AVAILABLE}, \
                "a commit whose sync failed must not be acknowledged: %r" % errs
            err, got = fetch_offsets(c, "ocs", [(TOPIC, 0)])
            assert err in (0,) + LOADING and got.get((TOPIC, 0), (-1,))[0] == -1, (err, got)
            assert c.produce_one(TOPIC, 0, kproto.build_batch([kproto.Record(b"v")]))["error_code"] == 0
        b.assert_alive()


@harness.timeout(60)
def test_delete_groups():
    """DeleteGroups: a group with members gets NON_EMPTY_GROUP (68), an unknown one
    GROUP_ID_NOT_FOUND (69), an empty group with offsets is deleted with its offsets."""
    with broker("gp-del") as b:
        b.create_topic(TOPIC, 1)
        wait_coordinator(b, "del")
        with b.client() as c:
            versions = list(advertised(c, DELETE_GROUPS))
            me, gen = stable_member(c, "del-busy")
            for v in versions:
                assert commit(c, "del-empty-%d" % v, {(TOPIC, 0): 42}) == {(TOPIC, 0): 0}
                res = delete_groups(c, ["del-busy", "del-unknown-%d" % v, "del-empty-%d" % v],
                                    version=v)
                want = {"del-busy": kproto.NON_EMPTY_GROUP,
                        "del-unknown-%d" % v: kproto.GROUP_ID_NOT_FOUND,
                        "del-empty-%d" % v: 0}
                assert res == want, "DeleteGroups v%d: %r, expected %r" % (v, res, want)
                err, got = fetch_offsets(c, "del-empty-%d" % v, [(TOPIC, 0)])
                assert got[(TOPIC, 0)][0] == -1, "offsets of a deleted group remain: %r" % got
                assert "del-empty-%d" % v not in list_groups(c), v
                d = describe(c, ["del-empty-%d" % v])["del-empty-%d" % v]
                assert d["members"] == [] and d["group_state"] == "Dead", d
                # Deleting it again: it is gone.
                assert delete_groups(c, ["del-empty-%d" % v], version=v) == {
                    "del-empty-%d" % v: kproto.GROUP_ID_NOT_FOUND}
            # The busy group is untouched; once its member leaves it can be deleted.
            assert heartbeat(c, "del-busy", gen, me)["error_code"] == 0
            assert leave(c, "del-busy", [me])["error_code"] == 0
            assert delete_groups(c, ["del-busy"]) == {"del-busy": 0}
            # A deleted group id can be used again.
            stable_member(c, "del-busy")
        b.assert_alive()


@harness.timeout(60)
def test_offset_fetch_v8_groups():
    with broker("gp-of8") as b:
        b.create_topic(TOPIC, 2)
        b.create_topic("gp-other", 1)
        wait_coordinator(b, "of8-a")
        with b.client() as c:
            if vmax(c, OFFSET_FETCH) < 8:
                raise AssertionError("OffsetFetch v8 not advertised: %r" % (
                    c.versions[OFFSET_FETCH],))
            assert commit(c, "of8-a", {(TOPIC, 0): 5, (TOPIC, 1): 6}) == {
                (TOPIC, 0): 0, (TOPIC, 1): 0}
            assert commit(c, "of8-b", {(TOPIC, 1): 60, ("gp-other", 0): 70}, metadata="bm") == {
                (TOPIC, 1): 0, ("gp-other", 0): 0}
            resp = c.call(OFFSET_FETCH, 8, {"groups": [
                {"group_id": "of8-a", "topics": [{"name": TOPIC, "partition_indexes": [0, 1]}]},
                {"group_id": "of8-b", "topics": None},
                {"group_id": "of8-none", "topics": [{"name": TOPIC, "partition_indexes": [0]}]},
            ], "require_stable": False})
            groups = {g["group_id"]: g for g in resp["groups"]}
            assert set(groups) == {"of8-a", "of8-b", "of8-none"}, resp
            for g in groups.values():
                assert g["error_code"] == 0, g
            assert _offsets_of(groups["of8-a"]["topics"]) == {
                (TOPIC, 0): (5, "m", 0), (TOPIC, 1): (6, "m", 0)}, groups["of8-a"]
            assert _offsets_of(groups["of8-b"]["topics"]) == {
                (TOPIC, 1): (60, "bm", 0), ("gp-other", 0): (70, "bm", 0)}, groups["of8-b"]
            none = _offsets_of(groups["of8-none"]["topics"])
            assert list(none) == [(TOPIC, 0)] and none[(TOPIC, 0)][0] == -1 \
                and none[(TOPIC, 0)][2] == 0, none
        b.assert_alive()


@harness.timeout(60)
def test_offset_delete():
    """OffsetDelete: an empty group's offsets go; a group with members keeps the offsets of the
    topics it subscribes to (GROUP_SUBSCRIBED_TO_TOPIC, 86); an unknown group gets 69."""
    with broker("gp-odel") as b:
        b.create_topic(TOPIC, 2)
        b.create_topic("gp-other", 1)
        wait_coordinator(b, "odel")
        with b.client() as c:
            advertised(c, OFFSET_DELETE)

            def offset_delete(group, parts):
                by_topic = {}
                for t, p in parts:
                    by_topic.setdefault(t, []).append({"partition_index": p})
                resp = c.call(OFFSET_DELETE, 0, {"group_id": group, "topics": [
                    {"name": t, "partitions": ps} for t, ps in by_topic.items()]})
                return resp["error_code"], {(t["name"], p["partition_index"]): p["error_code"]
                                            for t in resp["topics"] for p in t["partitions"]}

            assert set(commit(c, "odel", {(TOPIC, 0): 1, (TOPIC, 1): 2,
                                          ("gp-other", 0): 3}).values()) == {0}
            err, parts = offset_delete("odel", [(TOPIC, 0)])
            assert (err, parts) == (0, {(TOPIC, 0): 0}), (err, parts)
            _, got = fetch_offsets(c, "odel", [(TOPIC, 0), (TOPIC, 1), ("gp-other", 0)])
            assert [got[k][0] for k in ((TOPIC, 0), (TOPIC, 1), ("gp-other", 0))] == [-1, 2, 3], got

            problems = []
            # Unknown topics and partitions: per-partition UNKNOWN_TOPIC_OR_PARTITION.
            err, parts = offset_delete("odel", [("no-such-topic", 0), (TOPIC, 9)])
            want = {("no-such-topic", 0): kproto.UNKNOWN_TOPIC_OR_PARTITION,
                    (TOPIC, 9): kproto.UNKNOWN_TOPIC_OR_PARTITION}
            if (err, parts) != (0, want):
                problems.append("unknown topic/partition: %r, expected %r" % ((err, parts),
                                                                              (0, want)))

            # A member subscribed to TOPIC (only) joins: the offsets of TOPIC are protected,
            # those of gp-other, which no member subscribes to, can go.
            me, gen = stable_member(c, "odel")
            err, parts = offset_delete("odel", [(TOPIC, 1), ("gp-other", 0)])
            want = {(TOPIC, 1): kproto.GROUP_SUBSCRIBED_TO_TOPIC, ("gp-other", 0): 0}
            if (err, parts) != (0, want):
                problems.append("Stable group subscribed to %s: %r, expected %r" % (
                    TOPIC, (err, parts), (0, want)))
            _, got = fetch_offsets(c, "odel", [(TOPIC, 1), ("gp-other", 0)])
            if (got[(TOPIC, 1)][0], got[("gp-other", 0)][0]) != (2, -1):
                problems.append("offsets after that: %r, expected gp-1 at 2 and gp-other-0 "
                                "deleted" % got)

            err, parts = offset_delete("odel-unknown", [(TOPIC, 0)])
            if err != kproto.GROUP_ID_NOT_FOUND:
                problems.append("unknown group: %r, expected top-level 69" % ((err, parts),))
            err, parts = offset_delete("", [(TOPIC, 0)])
            if err != kproto.INVALID_GROUP_ID:
                problems.append("empty group id: %r, expected top-level 24" % ((err, parts),))
            assert not problems, "; ".join(problems)
        b.assert_alive()


@harness.timeout(90)
def test_session_expiry_and_rebalance_timeout():
    """A member that stops heartbeating is removed after its session timeout; a member that does
    not rejoin a rebalance is removed after its rebalance timeout and the others' joins
    complete without it."""
    with broker("gp-exp") as b:
        b.create_topic(TOPIC, 1)
        wait_coordinator(b, "exp")
        with b.client() as c:
            me, gen = stable_member(c, "exp", session_ms=1000, rebalance_ms=1000)

            def emptied():
                d = describe(c, ["exp"])["exp"]
                return d["group_state"] == "Empty" and d["members"] == []
            harness.wait_for(emptied, 20, 0.1, "the silent member to expire (session 1000 ms)")
            assert heartbeat(c, "exp", gen, me)["error_code"] == kproto.UNKNOWN_MEMBER_ID

        with b.client() as a, b.client(timeout=30) as bc:
            # The rebalance waits for the largest rebalance timeout of the members (1.5 s
            # here), not for their session timeouts (30 s, beyond the join's 25 s bound).
            a_id, gen1 = stable_member(a, "exp2", session_ms=30000, rebalance_ms=1500)
            jb = join_member(bc, "exp2", session_ms=30000, rebalance_ms=1500, timeout=25)
            assert jb["generation_id"] > gen1, jb
            assert jb["leader"] == jb["member_id"], "the only member left leads: %r" % jb
            assert [m["member_id"] for m in jb["members"]] == [jb["member_id"]], jb
            assert heartbeat(a, "exp2", gen1, a_id)["error_code"] == kproto.UNKNOWN_MEMBER_ID
        b.assert_alive()


@harness.timeout(60)
def test_list_groups_states_filter():
    with broker("gp-list") as b:
        b.create_topic(TOPIC, 1)
        wait_coordinator(b, "list")
        with b.client() as c:
            stable_member(c, "list-stable")
            assert commit(c, "list-empty", {(TOPIC, 0): 1}) == {(TOPIC, 0): 0}
            every = list_groups(c)
            assert {"list-stable", "list-empty"} <= set(every), every
            if vmax(c, LIST_GROUPS) >= 4:
                assert set(list_groups(c, 4, ["Stable"])) == {"list-stable"}
                assert set(list_groups(c, 4, ["Empty"])) == {"list-empty"}
                both = list_groups(c, 4, ["Stable", "Empty"])
                assert {g: x["group_state"] for g, x in both.items()} == {
                    "list-stable": "Stable", "list-empty": "Empty"}, both
            d = describe(c, ["list-stable", "list-empty", "list-unknown"])
            assert d["list-stable"]["group_state"] == "Stable", d
            assert d["list-empty"]["group_state"] == "Empty", d
            assert d["list-empty"]["protocol_type"] == "", "a group created by a commit has no " \
                "protocol type: %r" % d["list-empty"]
            u = d["list-unknown"]
            assert u["error_code"] in (0, kproto.GROUP_ID_NOT_FOUND), u
            assert u["group_state"] == "Dead" and u["members"] == [], u
        b.assert_alive()


@harness.timeout(90)
def test_offsets_survive_restart():
    """Offsets committed through OffsetCommit are read back after a clean and after a hard
    (SIGKILL) broker restart on the same data directory."""
    with broker("gp-restart") as b:
        b.create_topic(TOPIC, 2)
        wait_coordinator(b, "rs")
        with b.client() as c:
            assert commit(c, "rs", {(TOPIC, 0): 11, (TOPIC, 1): (12, "meta-1")}) == {
                (TOPIC, 0): 0, (TOPIC, 1): 0}
            assert commit(c, "rs", {(TOPIC, 0): 21}) == {(TOPIC, 0): 0}
        for hard in (False, True):
            b.restart(hard=hard)
            wait_coordinator(b, "rs")

            def loaded():
                with b.client() as c2:
                    err, got = fetch_offsets(c2, "rs", [(TOPIC, 0), (TOPIC, 1)])
                    return None if err in LOADING else (err, got)
            err, got = harness.wait_for(loaded, 30, 0.1, "OffsetFetch after restart")
            assert err == 0, err
            want = {(TOPIC, 0): (21, "m", 0), (TOPIC, 1): (12, "meta-1", 0)}
            assert got == want, "after %s restart: %r, expected %r" % (
                "a hard" if hard else "a clean", got, want)
            with b.client() as c:
                assert "rs" in list_groups(c), "the group is listed after the restart"
        b.assert_alive()


@harness.timeout(90)
def test_members_survive_restart():
    """A Stable group comes back from a clean and from a hard (SIGKILL) broker restart with its
    member, generation and assignment, as Kafka's coordinator loads it: the member's heartbeats
    at the same generation keep succeeding (no rebalance), and its commits with that generation
    are accepted. A member that stops heartbeating still expires after its session timeout."""
    with broker("gp-members") as b:
        b.create_topic(TOPIC, 1)
        wait_coordinator(b, "ms")
        with b.client() as c:
            member, generation = stable_member(c, "ms", session_ms=6000)
            assignment = kproto.consumer_assignment({TOPIC: [0]})
        for hard in (False, True):
            b.restart(hard=hard)
            wait_coordinator(b, "ms")
            what = "a hard" if hard else "a clean"
            with b.client() as c:
                hb = heartbeat(c, "ms", generation, member)
                assert hb["error_code"] == 0, "heartbeat after %s restart: %r" % (what, hb)
                g = describe(c, ["ms"])["ms"]
                assert g["group_state"] == "Stable", (what, g)
                assert [m["member_id"] for m in g["members"]] == [member], (what, g)
                assert g["members"][0]["member_assignment"] == assignment, (what, g)
                assert commit(c, "ms", {(TOPIC, 0): 7}, generation=generation, member_id=member) == {(TOPIC, 0): 0}
        with b.client() as c:
            # No heartbeats: the member leaves after its 6 s session and the group is Empty.
            def empty():
                g = describe(c, ["ms"])["ms"]
                return g if g["group_state"] == "Empty" else None
            harness.wait_for(empty, 30, 0.2, "the silent member to expire")
            assert heartbeat(c, "ms", generation, member)["error_code"] == kproto.UNKNOWN_MEMBER_ID
        b.assert_alive()
