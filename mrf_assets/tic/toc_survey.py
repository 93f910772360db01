"""What a new payer's Table of Contents needs before it can be read: the shims its deviations call for,
found by reading it with the ToC parser itself (each deviation the parser refuses names its shim), and
what its first structures list. The survey reads at most a head of the ToC (Anthem's is ~8.7 GB gzipped)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mrf_assets.tic.ids import file_id
from mrf_assets.tic.sources import SourceError
from mrf_assets.tic.toc import TocError, iter_toc, open_toc, read_toc_header

SURVEY_STRUCTURES = 1000  # a ToC's first structures show its habits; Anthem's run to one per employer
_BATCH = 1  # structure by structure, so a cut-off download keeps every structure it holds whole
_NAMED_SHIM = re.compile(r"add shim (\w+)")
ASSUMED_VERSION = "1.0.0"  # what missing_version suggests: 1.x ToCs are the ones that leave it out


class SurveyError(ValueError):
    """The ToC cannot be read even with every shim: the message says what is wrong."""


@dataclass
class TocSurvey:
    shims: dict[str, object] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # shim -> the deviation that calls for it
    header: dict = field(default_factory=dict)
    structures: int = 0
    plans: int = 0
    in_network_references: int = 0
    in_network_files: set[str] = field(default_factory=set)  # file ids: URLs without their signature
    allowed_amount_files: set[str] = field(default_factory=set)
    upper_case_plan_id_types: set[str] = field(default_factory=set)
    whole: bool = True  # False: only the first structures were read
    stopped: str | None = None  # why the survey stopped before the end


def survey_toc(path: Path, toc_url: str, cut: bool = False, limit: int = SURVEY_STRUCTURES) -> TocSurvey:
    """Read the ToC at `path` until it parses, adding each shim its refusals name. `cut`: the file is the
    head of a longer download, so reading may end mid-structure."""
    shims: dict[str, object] = {}
    reasons: dict[str, str] = {}
    while True:
        survey = TocSurvey(shims=dict(shims), reasons=dict(reasons))
        try:
            _read(path, toc_url, survey, limit)
        except TocError as exc:
            named = _NAMED_SHIM.search(str(exc))
            if named and named.group(1) not in shims:
                shims[named.group(1)], reasons[named.group(1)] = True, str(exc)
                continue
            _stop_or_raise(survey, cut, exc)
        except (SourceError, zipfile.BadZipFile) as exc:
            _stop_or_raise(survey, cut, exc)
        break
    _header_shims(survey)
    return survey


def _read(path: Path, toc_url: str, survey: TocSurvey, limit: int) -> None:
    opener = open_toc(path, survey.shims)
    with opener() as stream:
        survey.header = read_toc_header(stream)
    for batch in iter_toc(opener, toc_url, "", "", survey.shims, batch=_BATCH):
        batch = batch.head(limit - survey.structures)
        survey.structures += batch.height
        plans = batch["plans"].explode(empty_as_null=False).drop_nulls()
        survey.plans += len(plans)
        types = plans.struct.field("plan_id_type").drop_nulls()
        survey.upper_case_plan_id_types.update(types.filter(types != types.str.to_lowercase()).unique())
        in_network = _locations(batch, "in_network_files")
        survey.in_network_references += len(in_network)
        survey.in_network_files.update(file_id(url) for url in in_network.unique())
        survey.allowed_amount_files.update(file_id(url) for url in _locations(batch, "allowed_amount_files").unique())
        if survey.structures >= limit:
            survey.whole, survey.stopped = False, f"read the first {limit:,} reporting structures"
            return


def _locations(batch: pl.DataFrame, column: str) -> pl.Series:
    return batch[column].explode(empty_as_null=False).drop_nulls().struct.field("location")


def _stop_or_raise(survey: TocSurvey, cut: bool, exc: Exception) -> None:
    if cut and survey.structures:
        survey.whole, survey.stopped = False, f"the downloaded head ends after {survey.structures:,} structures"
        return
    if cut and isinstance(exc, zipfile.BadZipFile):
        raise SurveyError("the ToC is a zip archive, which can only be read whole: download more of it "
                          "(--max-mb) than its size") from exc
    if cut:
        raise SurveyError(f"the downloaded head holds no whole reporting structure ({exc}): download more of "
                          "it (--max-mb)") from exc
    raise SurveyError(f"the ToC cannot be read with any shim: {exc}") from exc


def _header_shims(survey: TocSurvey) -> None:
    """Deviations the parser accepts without a shim but reads better with one."""
    if not survey.header.get("last_updated_on") and "missing_dates" not in survey.shims:
        survey.shims["missing_dates"] = True
        survey.reasons["missing_dates"] = "the ToC has no last_updated_on: the posting date stands in for it"
    if not survey.header.get("version") and "missing_version" not in survey.shims:
        survey.shims["missing_version"] = ASSUMED_VERSION
        survey.reasons["missing_version"] = f"the ToC has no version: {ASSUMED_VERSION} is assumed (check it)"
    if survey.upper_case_plan_id_types and "plan_id_type_case" not in survey.shims:
        survey.shims["plan_id_type_case"] = True
        survey.reasons["plan_id_type_case"] = ("plan_id_type in upper case: "
                                               + ", ".join(sorted(survey.upper_case_plan_id_types)))

