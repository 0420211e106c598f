"""Campaign files for ``olive run``: one TOML file with everything a campaign needs.

See docs/campaign-file.md. Loading is all-or-nothing: the file, the plan,
the agents and every CSV row are checked first, and errors name the file's
line or the field path, and the CSV's line and column. Only then is anything
written, in one transaction.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from olive.ami import ServerConfig
from olive.contacts_import import ImportRefused, parse_csv
from olive.controls import control_error
from olive.phone import PRIVATE
from olive.specs import AgentSpec, CampaignSpec, PlanSpec, _Spec, check_plan_for_profile
from olive.store import (
    Agent,
    AgentRepository,
    Campaign,
    CampaignRepository,
    ContactRow,
    DialList,
    DialListRepository,
    Plan,
    PlanRepository,
    import_contacts,
)


class CampaignFileError(ValueError):
    """A campaign file that cannot be run, with every problem listed."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f"{path}:\n  " + "\n  ".join(problems))


class AsteriskSpec(_Spec):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")] = "olive"
    secret: Annotated[str, Field(pattern=r"^[^\r\n\x00]*$")] | None = Field(None, repr=False)
    secret_env: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> AsteriskSpec:
        if self.secret is None and self.secret_env is None:
            raise ValueError("give secret, or secret_env naming an environment variable")
        return self

    def server(self) -> ServerConfig:
        secret = self.secret
        if secret is None:
            assert self.secret_env is not None
            secret = os.environ.get(self.secret_env)
            if secret is None:
                raise ValueError(f"asterisk.secret_env: environment variable {self.secret_env} is not set")
        return ServerConfig(self.host, self.port, self.username, secret)


class ContactsSpec(_Spec):
    csv: str = Field(description="path of the contacts CSV, relative to the campaign file")
    numbering: Literal["e164", "private"] = Field(
        "e164", description="private: lab or internal numbers (1001), digits only, not checked for a country"
    )


class CampaignFileSpec(_Spec):
    asterisk: AsteriskSpec
    campaign: CampaignSpec
    plan: PlanSpec
    agents: list[AgentSpec] = Field(default_factory=list, description="at least one, unless the plan is agentless")
    contacts: ContactsSpec

    @model_validator(mode="after")
    def _someone_to_talk_to(self) -> CampaignFileSpec:
        if not self.agents and self.plan.dial_mode != "agentless":
            raise ValueError("agents: at least one [[agents]] (only an agentless plan needs none)")
        return self


@dataclass(frozen=True)
class CampaignFile:
    path: Path
    spec: CampaignFileSpec
    contacts: list[ContactRow]

    @property
    def name(self) -> str:
        return self.spec.campaign.name

    def server(self) -> ServerConfig:
        return self.spec.asterisk.server()


def read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML; CampaignFileError saying why it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignFileError(path, ["no such file"]) from None
    except IsADirectoryError:
        raise CampaignFileError(path, ["is a directory: give the campaign's .toml file"]) from None
    except UnicodeDecodeError as exc:
        raise CampaignFileError(path, [f"not UTF-8 (byte {exc.start}): save it as UTF-8"]) from None
    except OSError as exc:
        raise CampaignFileError(path, [f"cannot read it: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignFileError(path, [f"not valid TOML: {exc}"]) from None


def load(path: str | Path) -> CampaignFile:
    """Read and check a campaign file and its CSV; raise CampaignFileError listing every problem."""
    path = Path(path)
    raw = read_toml(path)
    problems: list[str] = []
    spec: CampaignFileSpec | None = None
    try:
        spec = CampaignFileSpec.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problem(e) for e in exc.errors())
    if spec is not None:
        problems.extend(f"plan: {p}" for p in check_plan_for_profile(spec.plan, spec.campaign.compliance_profile))
        names = [a.name for a in spec.agents]
        interfaces = [a.interface for a in spec.agents]
        if len(set(names)) != len(names) or len(set(interfaces)) != len(interfaces):
            problems.append("agents: each agent needs its own name and interface")
    # The CSV is checked even when the file has problems, so one run reports them all.
    csv_name = raw.get("contacts", {}).get("csv") if isinstance(raw.get("contacts"), dict) else None
    region = raw.get("campaign", {}).get("default_region", "US") if isinstance(raw.get("campaign"), dict) else "US"
    if isinstance(raw.get("contacts"), dict) and raw["contacts"].get("numbering") == "private":
        region = PRIVATE
    contacts: list[ContactRow] = []
    if isinstance(csv_name, str) and isinstance(region, str):
        csv_path = (path.parent / csv_name).resolve()
        try:
            contacts = parse_csv(csv_path.read_text(encoding="utf-8-sig"), region)
        except (FileNotFoundError, IsADirectoryError):
            problems.append(f"contacts.csv: no such file {csv_path}")
        except UnicodeDecodeError as exc:
            problems.append(f"contacts.csv: {csv_path} is not UTF-8 (byte {exc.start}): save it as UTF-8")
        except OSError as exc:
            problems.append(f"contacts.csv: cannot read {csv_path}: {exc.strerror or exc}")
        except ImportRefused as exc:
            problems.extend(f"{csv_path.name}: {e}" for e in exc.errors)
    if problems or spec is None:
        raise CampaignFileError(path, problems)
    if not contacts:
        raise CampaignFileError(path, [f"{spec.contacts.csv}: no contacts"])
    return CampaignFile(path, spec, contacts)


def _pydantic_problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "file"
    bad = error.get("input")
    if error.get("type") == "string_pattern_mismatch" and isinstance(bad, str) and (problem := control_error(bad)):
        return f"{where}: {problem}"
    return f"{where}: {error['msg']}"


def install(session: Session, cf: CampaignFile, *, server: str = "default") -> tuple[Campaign, bool]:
    """Create the campaign with its plan, agents and contacts, or find it if it exists.

    Returns (campaign, created). An existing campaign of that name is resumed
    as it is: its contacts are not imported again, so a restarted ``olive
    run`` never dials anyone twice.
    """
    campaigns = CampaignRepository(session)
    existing = campaigns.get_by_name(cf.name, with_links=True)
    if existing is not None:
        if existing.status in ("stopped", "paused"):
            existing.status = "running"
        for agent in existing.agents:
            if agent.state == "logged_out":
                agent.state = "ready"
        return existing, False
    spec = cf.spec
    plan_name = spec.plan.name or f"{cf.name} plan"
    plan = PlanRepository(session).get_by_name(plan_name)
    if plan is None:
        plan = Plan(name=plan_name, **spec.plan.to_row())
        session.add(plan)
    else:
        for key, value in spec.plan.to_row().items():
            setattr(plan, key, value)
    dial_list = DialListRepository(session).get_by_name(cf.name)
    if dial_list is None:
        dial_list = DialList(
            name=cf.name, default_region=spec.campaign.default_region, numbering=spec.contacts.numbering
        )
        session.add(dial_list)
    session.flush()
    import_contacts(session, dial_list.id, cf.contacts)
    agents = AgentRepository(session)
    members: list[Agent] = []
    for a in spec.agents:
        found = agents.get_by_name(a.name) or agents.get_by_interface(a.interface)
        agent = found if found is not None else Agent(name=a.name, interface=a.interface, state="ready")
        if found is None:
            session.add(agent)
        agent.name, agent.interface, agent.server = a.name, a.interface, a.server
        if agent.state in (None, "logged_out"):
            agent.state = "ready"  # `olive run` logs its agents in
        members.append(agent)
    campaign = Campaign(
        name=cf.name,
        status="running",
        plan=plan,
        queue=spec.campaign.queue,
        server=server,
        compliance_profile=spec.campaign.compliance_profile,
        schedule=spec.campaign.schedule,
        default_region=spec.campaign.default_region,
        dial_lists=[dial_list],
        agents=members,
    )
    session.add(campaign)
    session.flush()
    return campaign, True


__all__ = ["CampaignFile", "CampaignFileError", "CampaignFileSpec", "install", "load", "read_toml"]
