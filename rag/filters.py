"""The one typed filter over documents that retrieval honours: by document, region, issuing body, 文号, date and
whether a document is in force. The CLI options, the UI, the HTTP API and a question's own restrictions
('现行有效的', '2024年以后发布的', read by rag.query) all become a `Filters`."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from .errors import InputError

_ISO = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?)?$")


def parse_date(value: str, end: bool = False) -> str:
    """'2024', '2024-03', '2024-03-01' (or 2024年3月) as an ISO date; a year or month alone means its first day, or
    its last with `end`. Raises InputError with a Chinese message on anything else."""
    text = str(value or "").strip()
    if not text:
        return ""
    m = _ISO.match(text)
    try:
        if not m:
            raise ValueError(text)
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        if mo is None:
            return date(y, 12, 31).isoformat() if end else date(y, 1, 1).isoformat()
        if d is None:
            first = date(y, int(mo), 1)
            if not end:
                return first.isoformat()
            nxt = date(y + (int(mo) == 12), int(mo) % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1).isoformat()
        return date(y, int(mo), int(d)).isoformat()
    except ValueError:
        raise InputError(f"日期格式不对：{text}（请写成 2024、2024-03 或 2024-03-01）",
                         f"bad date filter {text!r}") from None


@dataclass(frozen=True)
class Filters:
    """Which documents retrieval may return; every field left empty lets all documents through.

    docs: doc ids; regions: any of the document's regions; issuers: a name contained in one of its issuing bodies;
    doc_number: text contained in its 文号 ('X政办', '〔2024〕12号'); date_from/date_to: its issue date (发布, else
    成文/施行) within these ISO dates; in_force_on: in force on that date (施行 by then, 有效期 not ended, not yet
    replaced by a newer version issued by then); current: only documents in force today and not replaced;
    older_versions: also documents a newer indexed version replaced (hidden by default, so answers come from the
    current version).
    """

    docs: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    doc_number: str = ""
    date_from: str = ""
    date_to: str = ""
    in_force_on: str = ""
    current: bool = False
    older_versions: bool = False

    @classmethod
    def of(cls, value: "Filters | dict | None") -> "Filters":
        """A Filters from None, a Filters, or a dict of its fields (lists or single values; dates as text)."""
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        if not isinstance(value, dict):
            raise InputError("筛选条件格式不对", f"filters must be a dict, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise InputError(f"不认识的筛选条件：{'、'.join(sorted(unknown))}", f"unknown filter keys {sorted(unknown)}")

        def many(key: str) -> tuple[str, ...]:
            v = value.get(key) or ()
            return tuple(str(x).strip() for x in ([v] if isinstance(v, str) else v) if str(x).strip())

        return cls(
            docs=many("docs"), regions=many("regions"), issuers=many("issuers"),
            doc_number=str(value.get("doc_number") or "").strip(),
            date_from=parse_date(value.get("date_from") or ""), date_to=parse_date(value.get("date_to") or "", end=True),
            in_force_on=parse_date(value.get("in_force_on") or ""), current=bool(value.get("current")),
            older_versions=bool(value.get("older_versions")),
        )

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def by_metadata(self) -> bool:
        """Does it restrict by anything beyond documents and regions?"""
        return bool(self.issuers or self.doc_number or self.date_from or self.date_to or self.in_force_on
                    or self.current)

    def merged(self, other: "Filters") -> "Filters":
        """Both restrictions at once (a user's filter and the question's own)."""
        if not other:
            return self
        if not self:
            return other
        return replace(
            self,
            docs=self.docs or other.docs, regions=self.regions or other.regions,
            issuers=self.issuers or other.issuers, doc_number=self.doc_number or other.doc_number,
            date_from=max(self.date_from, other.date_from), date_to=min(x for x in (self.date_to, other.date_to) if x)
            if self.date_to or other.date_to else "",
            in_force_on=self.in_force_on or other.in_force_on, current=self.current or other.current,
            older_versions=self.older_versions or other.older_versions,
        )

    def allows(self, record, version=None, replaced_on: str = "", today: str | None = None) -> bool:
        """Does the document pass? `version` is its rag.versions.VersionInfo, `replaced_on` the issue date of the
        version that replaced it ('' if none)."""
        from .versions import issued_on, status

        doc = record.doc
        meta = doc.metadata
        if self.docs and doc.doc_id not in self.docs:
            return False
        if not self.older_versions and not self.docs and version is not None and not version.current:
            return False  # a newer indexed version replaced it (naming the document asks for it all the same)
        if self.regions and not (set(meta.get("regions") or []) | {doc.region}) & set(self.regions):
            return False
        if self.issuers and not any(q in b for q in self.issuers for b in meta.get("issuers") or []):
            return False
        if self.doc_number and self.doc_number.replace(" ", "") not in str(meta.get("doc_number") or ""):
            return False
        issued = issued_on(meta)
        if (self.date_from or self.date_to) and not issued:
            return False  # an unknown date cannot be shown to fall in the range
        if self.date_from and issued < self.date_from or self.date_to and issued > self.date_to:
            return False
        if self.current and status(meta, version, today) != "现行有效":
            return False
        if self.in_force_on:
            on = self.in_force_on
            # a version is in force once issued and effective (an amended statute keeps its first 施行 date)
            start = max(meta.get("effective") or "", issued)
            if not start or start > on or (meta.get("valid_until") and meta["valid_until"] < on):
                return False
            if replaced_on and replaced_on <= on:
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}
