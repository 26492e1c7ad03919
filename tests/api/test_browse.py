"""Browsing the register over HTTP: lists, the unit tree, search by name and id number, paging.

The province is tests/integration/test_views.py's build_history, worked out by hand:
d1, d2 districts (2018); c1 a commune (from 2025-07-01). w1, w2 under d1 with unions u1, u2
(2019-02-01); m1 "Nguyễn Thị A" joins u1, m2 "Trần Văn B" joins u2 (2019-03-01); m2 moves to u1
(2020-01-01); u2 is dissolved (2020-06-01); u1 moves to d2 (2021-01-01); w1 is surveyed at 50
workers (2022-01-01); m1 leaves (2023-05-01); d2 closes into c1 (2025-07-01).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.test_views import build_history
from tests.scenario import member_pages, unions_under


def ids(tenant, path: str, kind: str, **query) -> list[str]:
    return [item["id"] for item in tenant.get(path, **query).get_json()[kind]]


def errors(response) -> dict:
    return response.get_json()["errors"]


@pytest.fixture
def province(tenant):
    build_history(tenant)
    return tenant


def test_the_unit_tree_moves_with_the_date(province):
    def tree(as_of: str) -> list:
        def strip(node: dict) -> tuple:
            return node["id"], [strip(c) for c in node["children"]]

        return [strip(root) for root in province.get("/units/tree", as_of=as_of).get_json()["roots"]]

    assert tree("2024-01-01") == [("d1", []), ("d2", [])]
    assert tree("2025-07-01") == [("c1", []), ("d1", [])]  # d2 closed that day; c1 opened
    assert province.get("/units/tree").get_json()["as_of"] == province.get("/units/tree").get_json()["as_of"]
    assert ids(province, "/units", "units", as_of="2019-01-01") == ["d1", "d2"]
    assert ids(province, "/units", "units", as_of="2025-08-01") == ["c1", "d1"]
    unit = province.get("/units", as_of="2025-08-01").get_json()["units"][0]
    assert unit == province.get("/units/c1").get_json()  # each item is what GET /units/{id} answers


def test_unions_under_a_unit_as_the_structure_stood(province):
    assert ids(province, "/unions", "unions", unit_id="d1", as_of="2020-03-01") == ["u1", "u2"]
    # u1 moved to d2; u2, dissolved, counts under d1, where it ended
    assert ids(province, "/unions", "unions", unit_id="d1", as_of="2021-06-01") == ["u2"]
    assert ids(province, "/unions", "unions", unit_id="d1", as_of="2021-06-01", status="active") == []
    assert ids(province, "/unions", "unions", unit_id="d2", as_of="2022-01-01") == ["u1"]
    assert ids(province, "/unions", "unions", unit_id="c1", as_of="2025-08-01") == ["u1"]  # by the closure
    assert ids(province, "/unions", "unions", unit_id="d2", as_of="2025-08-01") == []
    assert ids(province, "/unions", "unions", status="dissolved", as_of="2020-06-01") == ["u2"]
    assert ids(province, "/unions", "unions", status="active", as_of="2020-05-31") == ["u1", "u2"]
    assert ids(province, "/unions", "unions", as_of="2019-01-01") == []  # founded later
    union = province.get("/unions").get_json()["unions"][0]
    assert union == province.get("/unions/u1").get_json()


def test_members_by_union_unit_status_and_gender_on_a_date(province):
    assert ids(province, "/members", "members", unit_id="d1", as_of="2019-06-01") == ["m1", "m2"]
    assert ids(province, "/members", "members", union_id="u2", as_of="2019-06-01") == ["m2"]
    assert ids(province, "/members", "members", union_id="u2", as_of="2020-02-01") == []  # m2 moved to u1
    assert ids(province, "/members", "members", union_id="u1", as_of="2020-02-01") == ["m1", "m2"]
    assert ids(province, "/members", "members", unit_id="c1", as_of="2025-08-01") == ["m1", "m2"]
    assert ids(province, "/members", "members", unit_id="c1", as_of="2025-08-01", status="active") == ["m2"]
    assert ids(province, "/members", "members", unit_id="c1", as_of="2025-08-01", status="left") == ["m1"]
    assert ids(province, "/members", "members", status="left", as_of="2023-04-30") == []
    assert ids(province, "/members", "members", gender="male") == ["m2"]
    assert ids(province, "/members", "members", unit_id="d1", as_of="2025-08-01") == []
    assert ids(province, "/members", "members", as_of="2019-02-28") == []
    member = province.get("/members", gender="female").get_json()["members"][0]
    assert member == province.get("/members/m1").get_json() and member["full_name"] == "Nguyễn Thị A"


def test_workplaces_by_unit_size_and_coverage(province):
    assert ids(province, "/workplaces", "workplaces", unit_id="d1", as_of="2020-03-01") == ["w1", "w2"]
    assert ids(province, "/workplaces", "workplaces", covered="false", as_of="2021-01-01") == ["w2"]
    assert ids(province, "/workplaces", "workplaces", covered="true", as_of="2021-01-01") == ["w1"]
    assert ids(province, "/workplaces", "workplaces", min_workers=45, as_of="2021-12-31") == []
    assert ids(province, "/workplaces", "workplaces", min_workers=45, as_of="2022-06-01") == ["w1"]
    assert ids(province, "/workplaces", "workplaces", sector="private_enterprise") == ["w1", "w2"]
    assert ids(province, "/workplaces", "workplaces", sector="fdi_enterprise") == []
    assert ids(province, "/workplaces", "workplaces", as_of="2018-12-31") == []


def test_a_name_is_found_without_its_accents_and_an_id_number_exactly(province):
    province.post(
        "/members",
        {
            "id": "m3",
            "union_id": "u1",
            "admitted_on": "2024-01-02",
            "full_name": "Nguyễn Thị A",
            "gender": "female",
            "id_number": "045090000777",
        },
    )
    province.post(
        "/members",
        {"id": "m4", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": "Đỗ Đức Thắng", "gender": "male"},
    )
    assert ids(province, "/members", "members", q="nguyen thi a") == ["m1", "m3"]  # two of one name
    assert ids(province, "/members", "members", q="NGUYỄN") == ["m1", "m3"]
    assert ids(province, "/members", "members", q="a nguyen") == ["m1", "m3"]  # every word, in any order
    assert ids(province, "/members", "members", q="tran b") == ["m2"]
    assert ids(province, "/members", "members", q="tran a") == []
    assert ids(province, "/members", "members", q="do duc") == ["m4"]  # đ is d
    assert ids(province, "/members", "members", q="nguy") == []  # words, not parts of words
    assert ids(province, "/members", "members", id_number="045090000001") == ["m1"]
    assert ids(province, "/members", "members", id_number="04509000000") == []
    assert ids(province, "/members", "members", q="nguyen", status="active") == ["m3"]  # m1 left
    assert ids(province, "/members", "members", q="nguyen", id_number="045090000777") == ["m3"]


def test_an_erased_member_is_found_by_nothing(province, app):
    province.post("/members/m1/erasure", {"reason": "the member's request"})
    assert ids(province, "/members", "members", q="nguyen thi a") == []
    assert ids(province, "/members", "members", id_number="045090000001") == []
    assert ids(province, "/members", "members", status="left") == ["m1"]  # still listed, without a name
    with app.extensions["unionledger"].stores.use(province.id) as store, store.transaction() as cur:
        assert cur.scalar("SELECT count(*) FROM member_tokens WHERE member_id = ?", ("m1",)) == 0
        # tran, van, b and their pairs: b tran, tran van, b van
        tokens = cur.scalar("SELECT tokens FROM member_tokens WHERE member_id = ?", ("m2",))
        assert len(tokens if isinstance(tokens, list) else json.loads(tokens)) == 6
    assert ids(province, "/members", "members", q="tran van b") == ["m2"]


def test_a_search_of_three_words_finds_the_names_holding_all_three(province):
    # with m1 "Nguyễn Thị A" and m2 "Trần Văn B": names sharing two of three words, or all in another order
    for member_id, name in (("m5", "Nguyễn Văn A"), ("m6", "Trần Thị A"), ("m7", "A Thị Nguyễn"), ("m8", "Thị A")):
        response = province.post(
            "/members",
            {"id": member_id, "union_id": "u1", "admitted_on": "2024-01-02", "full_name": name, "gender": "female"},
        )
        assert response.status_code == 201, response.get_json()
    assert ids(province, "/members", "members", q="nguyen thi a") == ["m1", "m7"]
    assert ids(province, "/members", "members", q="thi a") == ["m1", "m6", "m7", "m8"]
    assert ids(province, "/members", "members", q="nguyen a") == ["m1", "m5", "m7"]
    assert ids(province, "/members", "members", q="van a thi") == []  # each pair held, never all three
    assert ids(province, "/members", "members", q="tran thi van") == []


def test_a_name_of_many_words_is_found_by_any_two_of_them(province):
    name = "Nguyễn Thị Hoàng Lan Anh Minh Châu"  # past PAIRED_WORDS: pairs of neighbours only
    response = province.post(
        "/members",
        {"id": "m9", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": name, "gender": "female"},
    )
    assert response.status_code == 201, response.get_json()
    assert ids(province, "/members", "members", q="lan anh") == ["m9"]  # neighbours: their pair
    assert ids(province, "/members", "members", q="nguyen chau") == ["m9"]  # no pair: found by the words
    assert ids(province, "/members", "members", q="chau thi nguyen minh") == ["m9"]
    assert ids(province, "/members", "members", q="nguyen chau b") == []


def test_the_index_holds_no_name_in_clear(province, app):
    with app.extensions["unionledger"].stores.use(province.id) as store, store.transaction() as cur:
        rows = cur.execute("SELECT member_id, tokens FROM member_tokens").fetchall()
    held = [t if isinstance(t, list) else json.loads(t) for _m, t in rows]
    assert held and all(type(token) is int for tokens in held for token in tokens)


def test_pages_follow_one_another_by_id(province):
    for n in range(5):
        province.post(
            "/members",
            {"id": f"p{n}", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": f"Page {n}", "gender": "male"},
        )
    seen = sum(member_pages(province, 3), [])
    assert seen == ["m1", "m2", "p0", "p1", "p2", "p3", "p4"]
    assert province.get("/members", limit=7).get_json()["next"] is None


def test_a_search_reads_its_holders_in_windows_and_finds_the_same_pages(province, monkeypatch):
    """The members a search finds, read window by window in id order and then through the GIN index
    (PostgreSQL), and a page looked for among slices of them: the same pages as all found at once."""
    from persistence import vault
    from projections import browse

    names = ["Lê Thị Hoa", "Lê Văn Hùng", "Phạm Thị Hoa", "Lê Thị Hoa Mai"]
    for i in range(24):  # ids before the others': "le thi hoa" dense first, then sparse
        name = names[0] if i < 8 or i % 5 == 0 else names[1 + i % 3]
        body = {"id": f"a{i:02d}", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": name, "gender": "male"}
        assert province.post("/members", body).status_code == 201

    queries = [{"q": q} for q in ("le thi hoa", "thi hoa", "hoa mai", "le hung", "hoa le", "tran b", "zzz")]
    queries += [{"q": "thi hoa", "status": "active"}, {"q": "le thi", "id_number": "045090000777"}]
    whole = [member_pages(province, limit, **q) for q in queries for limit in (1, 3, 100)]
    holders = [f"a{i:02d}" for i in range(24) if i < 8 or i % 5 == 0 or i % 3 == 2]
    assert whole[0][0] == ["a00"] and sum(whole[2], []) == holders
    monkeypatch.setattr(browse, "AMONG_SLICE", 2)
    for window, walk in ((2, 4), (3, 1_000), (1, 1)):
        monkeypatch.setattr(vault, "HOLDERS_WINDOW", window)
        monkeypatch.setattr(vault, "HOLDERS_WALK", walk)
        assert [member_pages(province, limit, **q) for q in queries for limit in (1, 3, 100)] == whole


def test_a_unit_of_a_few_unions_is_paged_from_each_unions_first_members(province, monkeypatch):
    """Pages of a unit's members read from each union's first few, then up to the page's end (the
    few read of each fewer than a page): the same pages as a page of each union read whole."""
    from projections import browse

    unions_under(province, "d1", (3, 4, 5))
    # ids of a union together (as an import gives them) and spread across the unions
    for i, union in enumerate(["u3"] * 6 + ["u4", "u5", "u3", "u4", "u5"] * 2 + ["u5"] * 4):
        gender = "female" if i % 3 == 0 else "male"
        body = {"id": f"x{i:02d}", "union_id": union, "admitted_on": "2024-01-02", "full_name": "X", "gender": gender}
        assert province.post("/members", body).status_code == 201

    queries = [{"unit_id": "d1"}, {"unit_id": "d1", "gender": "female"}, {"unit_id": "d1", "status": "active"}]
    monkeypatch.setattr(browse, "UNION_FIRSTS", 100)  # a page of each union, as before
    whole = [member_pages(province, limit, **q) for q in queries for limit in (1, 2, 3, 5)]
    assert whole[2] == [[f"x{i:02d}" for i in range(k, min(k + 3, 20))] for k in range(0, 20, 3)]
    monkeypatch.setattr(browse, "UNION_FIRSTS", 1)
    monkeypatch.setattr(browse, "FEW_UNIONS", 64)
    assert [member_pages(province, limit, **q) for q in queries for limit in (1, 2, 3, 5)] == whole


def test_the_members_a_search_found_are_paged_a_slice_at_a_time(province, monkeypatch):
    """A search finding more than AMONG_SLICE members: each page is looked for among slices of them,
    and is the page it would be if every member found were probed at once."""
    from projections import browse

    for n in range(9):
        province.post(
            "/members",
            {
                "id": f"s{n}",
                "union_id": "u1",
                "admitted_on": "2024-01-02",
                "full_name": "Lê Văn Sơn",
                "gender": "female" if n in (0, 7, 8) else "male",
            },
        )
    everyone = {"q": "le son"}
    females = {"q": "son van", "gender": "female"}  # the first slice holds one, a page needs two

    whole = {
        key: [member_pages(province, limit, **q) for limit in (1, 2, 4)]
        for key, q in (("all", everyone), ("female", females))
    }
    assert whole["all"][1] == [["s0", "s1"], ["s2", "s3"], ["s4", "s5"], ["s6", "s7"], ["s8"]]
    assert whole["female"][1] == [["s0", "s7"], ["s8"]]
    monkeypatch.setattr(browse, "AMONG_SLICE", 2)
    for key, q in (("all", everyone), ("female", females)):
        assert [member_pages(province, limit, **q) for limit in (1, 2, 4)] == whole[key]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"after": "not a cursor!"}, "after"),
        ({"q": "a" * 201}, "q"),
        ({"status": "gone"}, "status"),
        ({"gender": "other"}, "gender"),
        ({"as_of": "2025-13-01"}, "as_of"),
        ({"as_of": "2999-01-01"}, "as_of"),
    ],
)
def test_a_bad_filter_is_422_naming_it(province, query, field):
    response = province.get("/members", expect=422, **query)
    assert field in errors(response), errors(response)


def test_bad_filters_of_the_other_lists(province):
    assert "covered" in errors(province.get("/workplaces", expect=422, covered="maybe"))
    assert "min_workers" in errors(province.get("/workplaces", expect=422, min_workers=-1))
    assert "sector" in errors(province.get("/workplaces", expect=422, sector="space"))
    assert "status" in errors(province.get("/unions", expect=422, status="gone"))


def test_a_unit_or_union_that_does_not_exist_is_404(province):
    for path in ("/members", "/unions", "/workplaces"):
        assert province.get(path, expect=404, unit_id="nowhere").status_code == 404
    assert province.get("/members", expect=404, union_id="nowhere").status_code == 404
    assert province.get("/units", expect=404, parent_id="nowhere").status_code == 404


def test_an_imported_member_is_found_by_name(tenant):
    import io

    build_history(tenant)
    csv = "id,union_id,admitted_on,full_name,gender\nim1,u1,2024-02-01,Lê Thị Hồng Nhung,female\n"
    response = tenant.client.post(
        tenant.url("/imports"),
        headers=tenant.headers,
        data={"file": (io.BytesIO(csv.encode()), "members.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert ids(tenant, "/members", "members", q="hong nhung") == ["im1"]
