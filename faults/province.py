"""The register the scenarios load: a synthetic province (demo/generator.py) as import files.

Its units are established by API one by one; its workplaces and unions are imported as two
CSV files; its members are the CSV file whose import the scenarios watch, interrupt and repeat.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from demo.generator import generate_province
from domain.clock import vietnam_today
from domain.imports import COLUMNS


def to_csv(kind: str, rows) -> bytes:
    columns = list(COLUMNS[kind])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for _line, row in rows:
        writer.writerow(
            ["" if row.get(c) is None else row[c].isoformat() if isinstance(row[c], date) else row[c] for c in columns]
        )
    return out.getvalue().encode()


@dataclass
class ProvinceFiles:
    units: list[dict]  # POST /units bodies
    workplaces: bytes  # workplaces.csv
    unions: bytes  # unions.csv
    members: bytes  # members.csv
    member_ids: list[str]
    open_unions: list[str]  # where new members may be admitted
    members_file: Path  # members.csv on disk, for the command line

    @property
    def n_members(self) -> int:
        return len(self.member_ids)

    @classmethod
    def make(cls, n_members: int, folder: Path, seed: int = 1) -> ProvinceFiles:
        province = generate_province(n_members, seed, vietnam_today())
        sheets = province.sheets()
        members = to_csv("members", sheets["members"])
        members_file = folder / "members.csv"
        members_file.write_bytes(members)
        units = [{**u, "established_on": u["established_on"].isoformat()} for u in province.units]
        return cls(
            units,
            to_csv("workplaces", sheets["workplaces"]),
            to_csv("unions", sheets["unions"]),
            members,
            [province.member_id(i) for i in range(province.n_members)],
            [union_id for union_id, _founded in province.open_unions()],
            members_file,
        )
