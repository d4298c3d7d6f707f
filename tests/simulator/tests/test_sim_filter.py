"""The filter language: parser, precedence, escaping, typing, SQL versus the pure-Python evaluator, errors over HTTP."""

import xml.etree.ElementTree as ET

import pytest

from conftest import FIXED_NOW
from em_simulator import dataset, filterlang, model, store

NS = "{http://www.veeam.com/ent/v1.0}"
INJECTION_VM = 'x";Result==Success,(VmDisplayName=="y'


@pytest.fixture(scope="module", name="tiny_store")
def fixture_tiny_store(sim_dirs):
    path, _built = dataset.ensure_dataset(sim_dirs["cache_dir"], dataset.resolve_params("tiny"))
    return store.Store(path, model.parse_time(FIXED_NOW))


# -- parser ----------------------------------------------------------------------------------------------------
def test_every_operator():
    for op in ("==", "!=", "<", ">", "<=", ">="):
        assert filterlang.parse("TotalSize%s5" % op) == ("cmp", "TotalSize", op, "5")


def test_and_binds_tighter_than_or():
    assert filterlang.parse("A==1,B==2;C==3") == ("or", [("cmp", "A", "==", "1"), ("and", [("cmp", "B", "==", "2"), ("cmp", "C", "==", "3")])])
    assert filterlang.parse("(A==1,B==2);C==3") == ("and", [("or", [("cmp", "A", "==", "1"), ("cmp", "B", "==", "2")]),
                                                            ("cmp", "C", "==", "3")])
    assert filterlang.parse("((A==1))") == ("cmp", "A", "==", "1")


def test_quoting_and_escapes():
    assert filterlang.parse('Name=="a ""b"" c"') == ("cmp", "Name", "==", 'a "b" c')
    assert filterlang.parse('Name=="a;b,c(d)e"') == ("cmp", "Name", "==", "a;b,c(d)e")
    assert filterlang.parse('Name==""') == ("cmp", "Name", "==", "")
    assert filterlang.parse("Name==file server 01") == ("cmp", "Name", "==", "fileserver01")
    assert filterlang.parse(' Name == "x" ; Result == Failed ') == ("and", [("cmp", "Name", "==", "x"), ("cmp", "Result", "==", "Failed")])


@pytest.mark.parametrize("text,fragment", [
    ("(Result==Success", "missing ')'"), ("Result==Success)", "unbalanced ')'"), ("Result==Success;", "expression ended"),
    ("Result==", "missing value"), ("Result", "comparison operator"), ("Result=Success", "comparison operator"),
    ('Name=="abc', "unterminated"), ('Name=="a"b', "after quoted value"), (";Result==Success", "field name"),
    ("Result==Success,,Result==Failed", "field name"), ("Name==a(b", "unquoted value"), ("()", "field name"),
])
def test_bad_syntax(text, fragment):
    with pytest.raises(filterlang.FilterError) as err:
        filterlang.parse(text)
    assert fragment in str(err.value)


def test_binding_errors():
    tspec = model.get_type("ReplicaTaskSession")
    with pytest.raises(filterlang.FilterError, match="Unknown filter field 'Bogus'"):
        filterlang.parse_bound("Bogus==1", tspec)
    with pytest.raises(filterlang.FilterError, match="allowed values"):
        filterlang.parse_bound("Result==Great", tspec)
    with pytest.raises(filterlang.FilterError, match="date field"):
        filterlang.parse_bound("CreationTime>yesterday", tspec)
    with pytest.raises(filterlang.FilterError, match="numeric"):
        filterlang.parse_bound("TotalSize>big", tspec)
    with pytest.raises(filterlang.FilterError, match="Unknown filter field 'CreationTimeUTC'"):
        filterlang.parse_bound("CreationTimeUTC>2020-01-01", tspec)
    with pytest.raises(filterlang.FilterError, match="Unknown filter field 'CreationTime'"):
        filterlang.parse_bound("CreationTime>2020-01-01", model.get_type("CdpReplicaTaskSession"))
    with pytest.raises(filterlang.FilterError, match="Unknown filter field 'UID'"):
        filterlang.parse_bound("UID==x", model.get_type("CdpReplicaSession"))
    with pytest.raises(filterlang.FilterError, match="boolean"):
        filterlang.parse_bound("IsRetry==yes", model.get_type("ReplicaJobSession"))


def test_documented_fields_per_type():
    names = dict((t.name, [f.name for f in t.field_list]) for t in model.TYPES.values())
    assert names["ReplicaTaskSession"] == ["UID", "Name", "CreationTime", "EndTime", "State", "Result", "Reason", "TotalSize",
                                           "JobSessionUid", "JobUid", "JobName", "BackupServerUid", "BackupServerName", "VmDisplayName"]
    assert names["BackupJobSession"] == ["UID", "Name", "JobType", "JobUid", "JobName", "CreationTime", "EndTime", "State", "Result",
                                         "IsRetry", "BackupServerUid", "BackupServerName"]
    assert names["CdpReplicaSession"] == ["Id", "Name", "PolicyUid", "PolicyName", "BackupServerUid", "BackupServerName",
                                          "CreationTimeUTC", "EndTimeUTC", "State", "Result", "FailureMessage"]
    assert "Result" in names["CdpReplicaTaskSession"] and "Id" in names["CdpReplicaTaskSession"]


def test_dates():
    assert model.parse_time("2021-06-15") == model.parse_time("2021-06-15T00:00:00Z")
    assert model.parse_time("2021-06-15T07:00:06.787Z") - model.parse_time("2021-06-15T07:00:06Z") == 787
    assert model.parse_time("2025-08-14T12:31:30.389954Z") % 1000 == 389
    assert model.parse_time("2021-06-15T09:00:00+02:00") == model.parse_time("2021-06-15T07:00:00Z")
    assert model.fmt_time(model.parse_time("2021-06-15T22:11:06.110Z")) == "2021-06-15T22:11:06.11Z"
    assert model.fmt_time(model.parse_time("2014-10-19T06:46:31Z")) == "2014-10-19T06:46:31Z"


# -- SQL path equals the independent evaluator ---------------------------------------------------------------------
def _sql_uids(st, tname, text, sort=None, desc=False):
    tspec = model.get_type(tname)
    bound = filterlang.parse_bound(text, tspec)
    _total, recs = st.query(tspec, bound, tspec.field(sort) if sort else None, desc)
    return [r["UID"] for r in recs]


def _eval_uids(st, tname, text):
    tspec = model.get_type(tname)
    bound = filterlang.parse_bound(text, tspec)
    return [r["UID"] for r in st.iter_records(tspec) if filterlang.evaluate(bound, r)]


def _filters(st):
    now = st.now_ms
    day = model.fmt_time(now - model.DAY_MS)
    date_only = model.fmt_time(now - model.DAY_MS)[:10]
    return {
        "ReplicaTaskSession": [
            "Result==Success", "result==success", 'Result=="Failed"', "Result>Success", "Result>=Warning", "Result<Failed", "Result!=None",
            "State==InProgress", "State<Completed", 'CreationTime>="%s"' % day, "CreationTime>=%s" % date_only,
            'EndTime<"%s"' % day, "EndTime!=2000-01-01", "TotalSize>=17179869184", "TotalSize<8589934592",
            'VmDisplayName=="WEB-01"', 'VmDisplayName!="web-01";Result==Success', 'Reason!=""', 'Reason==""',
            'JobName=="Replica ""critical"" (tier 1)"', "JobName>M", 'BackupServerName=="VBR02.tech.local"',
            'VmDisplayName=="semi;colon-vm",VmDisplayName=="comma,vm",VmDisplayName=="paren(vm)"',
            'VmDisplayName=="quote""vm"', 'VmDisplayName=="\u0441\u0435\u0440\u0432\u0435\u0440-01"',
            "Result==Failed,Result==Warning;State==Completed", "(Result==Failed,Result==Warning);State==Completed",
            'Name>"m"', "UID>urn:veeam:ReplicaTaskSession:8",
        ],
        "ReplicaJobSession": ["IsRetry==True", "isretry==false;Result==Failed", "State==Working", "JobType==Replica", "JobType!=replica",
                              'CreationTime>"%s"' % day, "Result<=Success"],
        "BackupTaskSession": ["Result!=Success", "VmDisplayName>=m"],
        "CdpReplicaSession": ["Result==None", 'CreationTimeUTC>="%s"' % date_only, "State==Stopped;Result==Success", 'FailureMessage==""'],
        "CdpReplicaTaskSession": ["Result==Success", "State==InProgress", "TotalSize>0", 'EndTimeUTC<"%s"' % day],
        "BackupServer": ['Name=="vbr01.tech.local"', "Port==9392", "Version>13", 'IpOrDnsName!="vbr01.tech.local"'],
        "Job": ["JobType==Backup", "JobType==Replica;ScheduleEnabled==True", "Platform==vmware", "Name>R"],
    }


def test_sql_matches_evaluator(tiny_store):
    for tname, filters in _filters(tiny_store).items():
        for text in filters:
            sql = sorted(_sql_uids(tiny_store, tname, text))
            assert sql == sorted(_eval_uids(tiny_store, tname, text)), (tname, text)


def test_filters_are_not_trivial(tiny_store):
    assert 0 < len(_sql_uids(tiny_store, "ReplicaTaskSession", "Result>Success")) < len(_sql_uids(tiny_store, "ReplicaTaskSession", ""))
    assert len(_sql_uids(tiny_store, "ReplicaTaskSession", 'VmDisplayName=="WEB-01"')) > 0
    assert len(_sql_uids(tiny_store, "ReplicaJobSession", "IsRetry==True")) > 0


def test_uid_filters_with_and_without_prefix(tiny_store):
    tspec = model.get_type("ReplicaJobSession")
    _t, recs = tiny_store.query(tspec, limit=1)
    uid = recs[0]["UID"]
    assert _sql_uids(tiny_store, "ReplicaJobSession", 'UID=="%s"' % uid) == [uid]
    assert _sql_uids(tiny_store, "ReplicaJobSession", "UID==%s" % uid.upper()) == [uid]
    tasks = _sql_uids(tiny_store, "ReplicaTaskSession", 'JobSessionUid=="%s"' % uid)
    assert tasks and tasks == _eval_uids(tiny_store, "ReplicaTaskSession", 'JobSessionUid=="%s"' % uid)


def test_property_random_filters_agree(tiny_store):
    """Random combinations of comparisons: SQL and the evaluator agree (seeded, no extra dependency)."""
    import random
    rng = random.Random(5)
    atoms = [a for a in _filters(tiny_store)["ReplicaTaskSession"] if "," not in a and ";" not in a]
    for _attempt in range(150):
        parts = [rng.choice(atoms) for _attempt in range(rng.randint(1, 4))]
        text = parts[0]
        for part in parts[1:]:
            sep = rng.choice([";", ","])
            text = "(%s)%s%s" % (text, sep, part) if rng.random() < 0.5 else "%s%s%s" % (text, sep, part)
        assert sorted(_sql_uids(tiny_store, "ReplicaTaskSession", text)) == sorted(_eval_uids(tiny_store, "ReplicaTaskSession", text)), text


def _quote(value):
    return '"%s"' % value.replace('"', '""')


def test_long_value_lists_compile_to_in_and_agree(tiny_store):
    """Long chains of one field (``!=`` under AND, ``==`` under OR) become one (NOT) IN and still match the evaluator."""
    tspec = model.get_type("ReplicaTaskSession")
    records = list(tiny_store.iter_records(tspec))
    names = sorted(set(r["VmDisplayName"] for r in records))
    sessions = sorted(set(r["JobSessionUid"] for r in records))
    assert len(names) > filterlang.VALUE_LIST_MIN and len(sessions) > filterlang.VALUE_LIST_MIN
    # Case differs from the data on purpose: NOCASE must hold inside the list too.
    excluded = [n.swapcase() for n in names[:-3]]
    cases = {
        ";".join("VmDisplayName!=%s" % _quote(n) for n in excluded): "NOT IN",
        ",".join("VmDisplayName==%s" % _quote(n) for n in excluded[:12]): " IN (",
        "Result==Success;(%s)" % ",".join("JobSessionUid==%s" % _quote(u) for u in sessions[:10]): " IN (",
        ",".join("Result==%s" % r for r in ["Failed", "Warning"] * 5): " IN (",
    }
    for text, fragment in cases.items():
        sql, _params = filterlang.to_sql(filterlang.parse_bound(text, tspec), tiny_store.now_ms, tiny_store._resolve_fk)
        assert fragment in sql and sql.count(" OR ") + sql.count(" AND ") < 3, (text, sql)
        got = sorted(_sql_uids(tiny_store, "ReplicaTaskSession", text))
        assert got and got == sorted(_eval_uids(tiny_store, "ReplicaTaskSession", text)), text
    # Short chains keep their plain comparisons.
    sql, _params = filterlang.to_sql(filterlang.parse_bound('VmDisplayName!="a";VmDisplayName!="b"', tspec), 0)
    assert "IN" not in sql


def test_pages_of_one_query_are_its_whole_answer(tiny_store, monkeypatch):
    """Pages come from one ordered id list per query (cached); walking them gives the unpaged answer, in order."""
    tspec = model.get_type("ReplicaTaskSession")
    sort = tspec.field("CreationTime")
    bound = filterlang.parse_bound("Result!=Success", tspec)
    total, whole = tiny_store.query(tspec, bound, sort, True)
    assert total > 8
    for budget in (store.IDS_CACHE_BUDGET, 1):  # 1: every answer is dropped as soon as another one is cached
        monkeypatch.setattr(store, "IDS_CACHE_BUDGET", budget)
        walked = []
        for page in range(0, total, 3):
            page_total, recs = tiny_store.query(tspec, bound, sort, True, limit=3, offset=page)
            tiny_store.query(tspec, None, limit=1)  # another query between the pages
            assert page_total == total
            walked.extend(recs)
        assert [r["UID"] for r in walked] == [r["UID"] for r in whole]
    assert tiny_store.query(tspec, bound, sort, True, limit=3, offset=total)[1] == []


# -- over HTTP -----------------------------------------------------------------------------------------------------
def _query(client, **params):
    return client.get("/api/query", params=params)


def test_injection_vm_matches_exactly(client):
    escaped = 'VmDisplayName=="%s"' % INJECTION_VM.replace('"', '""')
    assert escaped == 'VmDisplayName=="x"";Result==Success,(VmDisplayName==""y"'
    root = ET.fromstring(_query(client, type="ReplicaTaskSession", format="Entities", filter=escaped, pageSize=1000).content)
    items = list(root.find(NS + "Entities")[0])
    assert items and {i.get("VmDisplayName") for i in items} == {INJECTION_VM}
    truth = client.sim.truth("query", type="ReplicaTaskSession", filter=escaped)
    assert sorted(i.get("UID") for i in items) == sorted(r["UID"] for r in truth)
    unescaped = 'VmDisplayName=="%s"' % INJECTION_VM
    assert _query(client, type="ReplicaTaskSession", filter=unescaped).status_code == 400


@pytest.mark.parametrize("params,fragment", [
    ({"type": "ReplicaTaskSession", "filter": "(Result==Success"}, "missing ')'"),
    ({"type": "ReplicaTaskSession", "filter": "Result==Success;"}, "expression ended"),
    ({"type": "ReplicaTaskSession", "filter": "Colour==Red"}, "Unknown filter field 'Colour'"),
    ({"type": "ReplicaTaskSession", "filter": "Result==Green"}, "allowed values"),
    ({"type": "Spaceship"}, "Unknown query type 'Spaceship'"),
    ({"filter": "Result==Success"}, "'type' is required"),
    ({"type": "ReplicaTaskSession", "format": "Pictures"}, "Invalid format"),
])
def test_http_400s(client, params, fragment):
    resp = _query(client, **params)
    assert resp.status_code == 400
    root = ET.fromstring(resp.content)
    assert root.tag == NS + "Error" and fragment in root.get("Message")


def test_case_insensitive_parameters_and_values(client):
    a = _query(client, type="ReplicaTaskSession", filter="Result==Failed", pageSize=500).content
    b = client.get("/api/query?TYPE=replicatasksession&FILTER=result%3D%3Dfailed&PAGESIZE=500").content
    uids_a = [r.get("UID") for r in ET.fromstring(a).find(NS + "Refs")]
    uids_b = [r.get("UID") for r in ET.fromstring(b).find(NS + "Refs")]
    assert uids_a and uids_a == uids_b


def test_cdp_result_filter_accepted(client):
    assert _query(client, type="CdpReplicaTaskSession", filter="Result==Success").status_code == 200
    assert _query(client, type="CdpReplicaTaskSession", filter="CreationTimeUTC>=2026-11-19").status_code == 200
