"""Campaign files read for the API: the ``olive run`` format, its ``[asterisk]`` optional.

The file and its CSV are checked with the same rules as ``olive run`` before
anything is sent, so a bad file changes nothing on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from olive.campaign_file import AsteriskSpec, CampaignFileError, CampaignFileSpec, read_toml
from olive.contacts_import import ImportRefused, parse_csv
from olive.specs import check_plan_for_profile


class ApiCampaignFileSpec(CampaignFileSpec):
    asterisk: AsteriskSpec | None = None  # type: ignore[assignment]  # olive serve knows its Asterisk servers


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    spec: ApiCampaignFileSpec
    csv_text: str
    contacts: int


def load_for_api(path: Path) -> LoadedFile:
    """Read and check the file and its CSV; raise CampaignFileError listing every problem."""
    raw = read_toml(path)
    try:
        spec = ApiCampaignFileSpec.model_validate(raw)
    except ValidationError as exc:
        raise CampaignFileError(path, [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]) from None
    problems = [f"plan: {p}" for p in check_plan_for_profile(spec.plan, spec.campaign.compliance_profile)]
    csv_path = (path.parent / spec.contacts.csv).resolve()
    text = ""
    count = 0
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
        count = len(parse_csv(text, spec.campaign.default_region))
    except (OSError, UnicodeDecodeError):
        problems.append(f"contacts.csv: cannot read {csv_path}")
    except ImportRefused as exc:
        problems.extend(f"{csv_path.name}: {e}" for e in exc.errors)
    if problems:
        raise CampaignFileError(path, problems)
    return LoadedFile(path, spec, text, count)


__all__ = ["ApiCampaignFileSpec", "LoadedFile", "load_for_api"]
