"""A station's recorded year, read from its ledger entries alone (pure): the inputs of the rating rule and the
station's figures in the seed's form. The console's rating run and ``qinglian whistleblower rate`` both read
the year through here, so a published rating is recomputed from exactly what it was computed from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import edge.modules.whistleblower.kinds as K
from edge.ledger import Entry
from edge.modules.whistleblower.rules import PersonYear, Rating, RatingRules, rate, year_of

#: The kinds a year is read from (the CLI reads only these from the ledger).
YEAR_KINDS = (K.STATION_SET, K.CLUE_RECEIVED, K.CLUE_RESOLVED, K.REVIEW_MEETING, K.QA_MEETING, K.MISCONDUCT, K.RATED)


@dataclass(frozen=True)
class Year:
    station: str
    year: int
    people: tuple[PersonYear, ...]  # the roster's members, in roster order
    figures: Mapping[str, int]  # clues, review_meetings, qa_meetings, solved
    recorded_rules: RatingRules | None  # the rules of the year's last rating run, if there was one

    def ratings(self, rules: RatingRules | None = None) -> list[Rating]:
        return rate(self.people, rules or self.recorded_rules or RatingRules())

    def to_json(self, rules: RatingRules | None = None) -> dict[str, Any]:
        """The form the CLI prints (a contract: the issue's field names)."""
        return {
            "station": self.station,
            "ratings": [r.to_body() for r in self.ratings(rules)],
            "figures": dict(self.figures),
        }


def _held_in(held_on: str, year: int) -> bool:
    return date.fromisoformat(held_on).year == year


def read_year(entries: Iterable[Entry], year: int) -> Year:
    station, roster = "", []
    collector: dict[str, str | None] = {}  # clue -> credited member, for the clues received in the year
    outcome: dict[str, tuple[bool, bool]] = {}  # clue -> (confirmed, solved)
    reviews = qas = 0
    misconduct: set[str] = set()
    recorded: RatingRules | None = None
    for e in sorted(entries, key=lambda e: e.index):
        b = e.body
        if e.kind == K.STATION_SET:
            station, roster = str(b["name"]), [str(m["id"]) for m in b["members"]]
        elif e.kind == K.CLUE_RECEIVED and year_of(str(b["received_at"])) == year:
            collector[str(b["id"])] = b.get("collector")
        elif e.kind == K.CLUE_RESOLVED:
            outcome[str(b["id"])] = (b["outcome"] == "confirmed", b["outcome"] == "confirmed" and b["solved"] is True)
        elif e.kind == K.REVIEW_MEETING and _held_in(str(b["held_on"]), year):
            reviews += 1
        elif e.kind == K.QA_MEETING and _held_in(str(b["held_on"]), year):
            qas += 1
        elif e.kind == K.MISCONDUCT and int(b["year"]) == year:
            misconduct.add(str(b["person"]))
        elif e.kind == K.RATED and int(b["year"]) == year:
            recorded = RatingRules.from_body(b["rules"])
    people = []
    for person in roster:
        mine = [c for c, who in collector.items() if who == person]
        confirmed = sum(1 for c in mine if outcome.get(c, (False, False))[0])
        solved = sum(1 for c in mine if outcome.get(c, (False, False))[1])
        people.append(PersonYear(person, len(mine), confirmed, solved, person in misconduct))
    solved_all = sum(1 for c in collector if outcome.get(c, (False, False))[1])
    figures = {"clues": len(collector), "review_meetings": reviews, "qa_meetings": qas, "solved": solved_all}
    return Year(station, year, tuple(people), figures, recorded)
