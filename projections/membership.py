"""Members: current state (no personal data in clear), membership spans per union, and the
departures and moves as an append-only list of flows (``member_flows``). An admission's flow is
not copied there: it is the span the admission wrote (the span whose position is the member's
``admitted_pos``), which the indicator columns read as the flow."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from domain.members import TRANSFERRED_OUT as TRANSFERRED_OUT_REASON
from projections import spans
from projections.base import (
    AddedIndex,
    DroppedIndex,
    Projection,
    StoredRun,
    ViewCursor,
    day,
    event_name,
    micros,
    name_of_topic,
)

ADMITTED, LEFT = 0, 1
# A member who moved in from another province, or out to one: flows of their own, never admissions
# or departures (the national figures count a move once, and as no new member).
TRANSFERRED_IN, TRANSFERRED_OUT = 2, 3
FEMALE = "female"
# A run of transfers and departures updates each member's state once (see Membership.bulk_MemberMoves).
TRANSFERRED = (("union_id", "text"), ("version", "integer"), ("at", "bigint"), ("member", "text"))
LEFT_STATE = (
    ("union_id", "text"),
    ("on_day", "integer"),
    ("at", "bigint"),
    ("reason", "text"),
    ("version", "integer"),
    ("member", "text"),
)


class Membership(Projection):
    name = "membership"
    tables = ("member_state", "member_spans", "member_flows")
    ddl = (
        "CREATE TABLE IF NOT EXISTS member_state ("
        " member_id TEXT PRIMARY KEY, union_id TEXT NOT NULL, gender TEXT NOT NULL,"
        " admitted_union_id TEXT NOT NULL, admitted_on INTEGER NOT NULL, admitted_at BIGINT NOT NULL,"
        " left_union_id TEXT, left_on INTEGER, left_at BIGINT, leave_reason TEXT,"
        " personal TEXT, version INTEGER NOT NULL, updated_at BIGINT NOT NULL, admitted_pos BIGINT)",
        # by holder through member_spans_holder alone: a union's members are tens to thousands of
        # rows, whose days its readers filter, and an admission writes one index entry fewer
        *spans.span_ddl("member_spans", by_day=False),
        # kind: 1 left, 2 transferred in, 3 transferred out (0, admitted, is read from the spans);
        # the union is the one the member was in on that day; female: 1 for a woman (the breakdown
        # by gender counts the flows without reading the members)
        "CREATE TABLE IF NOT EXISTS member_flows ("
        " position BIGINT NOT NULL, kind INTEGER NOT NULL CHECK (kind <> 0), union_id TEXT NOT NULL,"
        " on_day INTEGER NOT NULL, recorded_at BIGINT NOT NULL, female INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS member_flows_position ON member_flows (position)",
    )
    # A member's row is written again by each later event of the member (a card, a move, an
    # erasure): with half of each page left free, the new row goes on the old one's page and no index
    # entry is written for it (PostgreSQL's heap-only update), which a card issued to every member
    # otherwise pays for once per member. After one such change the table is no larger than at a
    # full fill (the old rows stay until vacuumed either way). docs/performance.md.
    storage = {"member_state": "fillfactor=50"}
    # Handlers find a member's state by its key and its current spans by member_spans_entity.
    # A unit's or union's members in id order, a page at a time (projections/browse.py)
    added_indexes = (
        AddedIndex("member_spans_holder", "member_spans", "(holder_id, entity_id) WHERE superseded_at IS NULL"),
    )
    # By holder and day: member_spans_holder serves its readers. It left ``ddl`` before this list was
    # kept (the views' checksum moved then, and every store rebuilt its views once); named here so
    # that a store still holding it (made by that older version, or by a bench's variant) loses it.
    dropped_indexes = (DroppedIndex("member_spans_current", "member_spans"),)
    readers_indexes = (
        "member_flows_position",
        "member_spans_holder",
        "member_spans_position",
        "member_spans_superseded_pos",
    )
    FLOW_COLUMNS = ("position", "kind", "union_id", "on_day", "recorded_at", "female")
    bulk_groups = {"MemberTransferred": "MemberMoves", "MemberLeft": "MemberMoves"}
    # A card's issue changes no row of its own here, only the member's version (its table is the
    # plan records' view): both derived in SQL, the card's event not read into Python. Departures
    # and transfers within the province follow from the event and the member's current spans.
    derived = frozenset({"MemberAdmitted", "MemberCardIssued", "MemberLeft", "MemberTransferred"})
    # Its handlers read only its own tables (and the vault's, which only erasures change).
    rebuild_lane = "membership"
    ADMITTED_STATE = (
        "member_id",
        "union_id",
        "gender",
        "admitted_union_id",
        "admitted_on",
        "admitted_at",
        "personal",
        "version",
        "updated_at",
    )

    # The position of the admission: a number of its own for each member, by which the indicator
    # columns tell members apart without holding their ids (projections.columns).
    STATE_COLUMNS = (*ADMITTED_STATE, "admitted_pos")

    def derive(self, cur: ViewCursor, run: StoredRun) -> None:
        """The run's admissions, then its departures and transfers, then its cards (a card comes
        after its member's admission; it sets the version only where it is the member's latest)."""
        names = {name_of_topic(topic): topic for topic in run.topics}
        if "MemberAdmitted" in names:
            self._derive_admitted(cur, run, names["MemberAdmitted"])
        if "MemberLeft" in names or "MemberTransferred" in names:
            self._derive_moves(cur, run, names)
        if "MemberCardIssued" in names:
            self._derive_cards(cur, run, names["MemberCardIssued"])

    @staticmethod
    def _derive_cards(cur: ViewCursor, run: StoredRun, topic: str) -> None:
        """``bulk_MemberCardIssued`` in SQL: each member's state takes its latest card's version
        (member and instant read from the trail's columns beside each event: no JSON parsed)."""
        select, params = run.select(topic, state=False)
        cur.execute(
            "UPDATE member_state SET version = c.version, updated_at = c.at FROM (SELECT DISTINCT ON (member_id)"
            f" entity_id AS member_id, version, at FROM ({select}) s"
            " ORDER BY member_id, version DESC) c WHERE member_state.member_id = c.member_id"
            " AND member_state.version < c.version",
            params,
        )

    def _derive_admitted(self, cur: ViewCursor, run: StoredRun, topic: str) -> None:
        """``bulk_MemberAdmitted`` in SQL: the state's and the span's rows from one read of the events
        (member, day and instant from the trail's columns beside each event, the rest from its JSON).
        A group commit's few admissions (``cur.planned_once``) go through the schema's function of
        the same statement (``admitted_function``), whose plan the session keeps."""
        if cur.planned_once:
            name = admitted_function(run.table)[0]
            cur.execute(f"SELECT {name}(?, ?, ?)", (run.first, run.last, [topic]))
            return
        select, params = run.select(topic, business="admitted_on")
        cur.execute(_admitted(select), params)

    def _derive_moves(self, cur: ViewCursor, run: StoredRun, names: dict[str, str]) -> None:
        """``bulk_MemberMoves`` in SQL: one statement for each member's first move of the run, then
        one for each second move, and so on (a member's moves in order, as ``distinct_runs`` keeps them)."""
        parts: list[str] = []
        params: list = []
        for name, business in (("MemberLeft", "left_on"), ("MemberTransferred", "effective_on")):
            if name in names:
                select, more = run.select(names[name], business=business)
                parts.append(
                    f"SELECT position, version, entity_id AS member_id, on_day, at, {int(name == 'MemberLeft')}"
                    " AS leaving, j->>'union_id' AS union_id, j->>'reason' AS reason, j->>'to_union_id' AS to_union"
                    f" FROM ({select}) s{len(parts)}"
                )
                params += more
        rank, ranks = 1, 1
        while rank <= ranks:
            ranks = cur.scalar(self._MOVES.format(moves=" UNION ALL ".join(parts)), [*params, rank])
            rank += 1

    # The moves of one rank (each member once): their current spans that reach past the day
    # superseded, what came before the day kept (ended that day), the new union's span from it;
    # the member's state; a departure's flow. Answers how many ranks the run has.
    _MOVES = (
        "WITH e AS MATERIALIZED (SELECT m.*, row_number() OVER (PARTITION BY member_id ORDER BY position) AS k"
        " FROM ({moves}) m),"
        " c AS MATERIALIZED (SELECT * FROM e WHERE k = ?),"
        " old AS (UPDATE member_spans s SET superseded_at = c.at, superseded_pos = c.position FROM c"
        " WHERE s.entity_id = c.member_id AND s.superseded_at IS NULL AND (s.valid_to IS NULL OR s.valid_to > c.on_day)"
        " RETURNING s.entity_id, s.holder_id, s.valid_from, c.on_day, c.leaving, c.at, c.position),"
        f" kept AS (INSERT INTO member_spans ({', '.join(spans.SPAN_COLUMNS)})"
        " SELECT entity_id, holder_id, valid_from, on_day, leaving, at, position FROM old WHERE valid_from < on_day"
        " UNION ALL SELECT member_id, to_union, on_day, NULL, 0, at, position FROM c WHERE leaving = 0),"
        " state AS (UPDATE member_state SET"
        " union_id = CASE WHEN c.leaving = 1 THEN member_state.union_id ELSE c.to_union END,"
        " left_union_id = CASE WHEN c.leaving = 1 THEN c.union_id ELSE member_state.left_union_id END,"
        " left_on = CASE WHEN c.leaving = 1 THEN c.on_day ELSE member_state.left_on END,"
        " left_at = CASE WHEN c.leaving = 1 THEN c.at ELSE member_state.left_at END,"
        " leave_reason = CASE WHEN c.leaving = 1 THEN c.reason ELSE member_state.leave_reason END,"
        " version = c.version, updated_at = c.at FROM c WHERE member_state.member_id = c.member_id),"
        " flows AS (INSERT INTO member_flows (position, kind, union_id, on_day, recorded_at, female)"
        f" SELECT c.position, {LEFT}, c.union_id, c.on_day, c.at, CASE WHEN g.gender = '{FEMALE}' THEN 1 ELSE 0 END"
        " FROM c LEFT JOIN member_state g ON g.member_id = c.member_id WHERE c.leaving = 1)"
        " SELECT coalesce(max(k), 0) FROM e"
    )

    @staticmethod
    def admitted_state(e: Any) -> tuple:
        """The member_state row (ADMITTED_STATE) an admission makes."""
        at, on = micros(e.timestamp), day(e.admitted_on)
        return e.member_id, e.union_id, e.gender, e.union_id, on, at, e.personal, e.originator_version, at

    def bulk_MemberAdmitted(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        """Admissions are each member's first event, so they need no earlier span closed. Their
        flows are their spans (no row of member_flows)."""
        states, member_spans = [], []
        for e, position in items:
            state = self.admitted_state(e)
            at, on = state[5], state[4]
            states.append((*state, position))
            member_spans.append((e.member_id, e.union_id, on, None, 0, at, position))
        cur.insert_rows("member_state", self.STATE_COLUMNS, states)
        cur.insert_rows(
            "member_spans",
            ("entity_id", "holder_id", "valid_from", "valid_to", "terminal", "recorded_at", "position"),
            member_spans,
        )

    @staticmethod
    def bulk_MemberCardIssued(cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        """The member's state takes the version and instant of its latest card (its other events
        leave them; each member once: the last of the run)."""
        latest = {e.member_id: (e.originator_version, micros(e.timestamp)) for e, _p in items}
        cur.update_rows(
            "UPDATE member_state SET version = v.version, updated_at = v.at {rows}"
            " WHERE member_id = v.member AND member_state.version < v.version",
            (("version", "integer"), ("at", "bigint"), ("member", "text")),
            [(version, at, member) for member, (version, at) in latest.items()],
        )

    def bulk_MemberMoves(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        """Transfers and departures, in order; each run touches every member at most once."""
        for run in spans.distinct_runs(items, lambda item: item[0].member_id):
            changes: list[spans.Change] = []
            transfers, departures, flows = [], [], []
            leaving = [e.member_id for e, _p in run if event_name(e) == "MemberLeft"]
            women = {
                m
                for m, g in cur.rows_for(
                    "SELECT member_id, gender FROM member_state WHERE member_id IN ({ids})", leaving
                )
                if g == FEMALE
            }
            for e, p in run:
                at = micros(e.timestamp)
                if event_name(e) == "MemberLeft":
                    on = day(e.left_on)
                    changes.append((e.member_id, None, on, at, p))
                    departures.append((e.union_id, on, at, e.reason, e.originator_version, e.member_id))
                    flows.append((p, LEFT, e.union_id, on, at, int(e.member_id in women)))
                else:
                    changes.append((e.member_id, e.to_union_id, day(e.effective_on), at, p))
                    transfers.append((e.to_union_id, e.originator_version, at, e.member_id))
            spans.apply_many(cur, "member_spans", changes)
            cur.update_rows(
                "UPDATE member_state SET union_id = v.union_id, version = v.version, updated_at = v.at"
                " {rows} WHERE member_id = v.member",
                TRANSFERRED,
                transfers,
            )
            cur.update_rows(
                "UPDATE member_state SET left_union_id = v.union_id, left_on = v.on_day, left_at = v.at,"
                " leave_reason = v.reason, version = v.version, updated_at = v.at {rows}"
                " WHERE member_id = v.member",
                LEFT_STATE,
                departures,
            )
            cur.insert_rows("member_flows", self.FLOW_COLUMNS, flows)

    def on_MemberTransferredIn(self, cur: ViewCursor, e: Any, position: int) -> None:
        """Like an admission, but counted from the move's day and keeping the first admission's date."""
        at, since = micros(e.timestamp), day(e.effective_on)
        state = (e.member_id, e.union_id, e.gender, e.union_id, day(e.admitted_on), at, e.personal,
                 e.originator_version, at)  # fmt: skip
        cur.insert_rows("member_state", self.ADMITTED_STATE, [state])
        cur.insert_rows(
            "member_spans",
            ("entity_id", "holder_id", "valid_from", "valid_to", "terminal", "recorded_at", "position"),
            [(e.member_id, e.union_id, since, None, 0, at, position)],
        )
        female = int(e.gender == FEMALE)
        cur.insert_rows("member_flows", self.FLOW_COLUMNS, [(position, TRANSFERRED_IN, e.union_id, since, at, female)])

    def on_MemberTransferredOut(self, cur: ViewCursor, e: Any, position: int) -> None:
        """Like a departure whose reason is the move: the member stops counting here that day."""
        at, on = micros(e.timestamp), day(e.effective_on)
        spans.apply_many(cur, "member_spans", [(e.member_id, None, on, at, position)])
        gender = cur.execute("SELECT gender FROM member_state WHERE member_id = ?", (e.member_id,)).fetchone()
        cur.execute(
            "UPDATE member_state SET left_union_id = ?, left_on = ?, left_at = ?, leave_reason = ?, version = ?,"
            " updated_at = ? WHERE member_id = ?",
            (e.union_id, on, at, TRANSFERRED_OUT_REASON, e.originator_version, at, e.member_id),
        )
        female = int(gender is not None and gender[0] == FEMALE)
        cur.insert_rows("member_flows", self.FLOW_COLUMNS, [(position, TRANSFERRED_OUT, e.union_id, on, at, female)])

    def on_MemberDataErased(self, cur: ViewCursor, e: Any, position: int) -> None:
        # The key is destroyed here too, in the same transaction as the view, so an erasure
        # recorded just before a crash still takes effect when the views catch up.
        cur.execute(
            "UPDATE member_state SET personal = NULL, version = ?, updated_at = ? WHERE member_id = ?",
            (e.originator_version, micros(e.timestamp), e.member_id),
        )
        cur.execute("DELETE FROM personal_keys WHERE member_id = ?", (e.member_id,))
        cur.execute("DELETE FROM member_tokens WHERE member_id = ?", (e.member_id,))


def _admitted(select: str) -> str:
    """The admissions' statement over the events ``select`` reads (StoredRun.select)."""
    return (
        "WITH e AS MATERIALIZED (SELECT position, version, entity_id AS member_id,"
        " j->>'union_id' AS union_id, j->>'gender' AS gender, j->>'personal' AS personal,"
        f" on_day, at FROM ({select}) s),"
        f" states AS (INSERT INTO member_state ({', '.join(Membership.STATE_COLUMNS)})"
        " SELECT member_id, union_id, gender, union_id, on_day, at, personal, version, at, position FROM e)"
        " INSERT INTO member_spans (entity_id, holder_id, valid_from, valid_to, terminal, recorded_at,"
        " position) SELECT member_id, union_id, on_day, NULL, 0, at, position FROM e"
    )


@functools.cache
def admitted_function(events_table: str) -> tuple[str, str]:
    """The admissions' statement as a PL/pgSQL function of the tenant's schema, (first, last,
    topics): its name (with a digest of its body) and the statement that makes it. Planned once a
    session with a generic plan (a group's positions are a handful, where the planner would
    otherwise plan for each group's own); made when the store is opened (tenants.stores)."""
    select, _params = StoredRun(events_table, 0, 0, ()).select("", business="admitted_on")
    parts = select.replace("topic = ANY(?)", "topic = ANY(p_topics)").split("BETWEEN ? AND ?")
    assert len(parts) == 2 and "?" not in "".join(parts)  # the run's positions and topics, nothing else
    body = _admitted("BETWEEN p_first AND p_last".join(parts))
    name = "derive_admitted_" + hashlib.sha1(body.encode()).hexdigest()[:12]
    return name, (
        f"CREATE OR REPLACE FUNCTION {name}(p_first bigint, p_last bigint, p_topics text[]) RETURNS void"
        f" LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $derive$ BEGIN {body}; END $derive$"
    )
