"""The simulator's built-in ``@olive`` configs are the ones docs/asterisk ships to users."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["extensions", "queues"])
def test_packaged_copy_is_the_documented_config(kind: str) -> None:
    packaged = ROOT / "src" / "olive" / "sim" / "scenarios" / f"olive.{kind}.conf"
    documented = ROOT / "docs" / "asterisk" / f"{kind}.conf"
    assert packaged.read_text() == documented.read_text(), f"copy {documented} to {packaged}"


DOCS = ROOT / "docs" / "asterisk"


def _sections(text: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            out.append((line[1:line.index("]")], {}))
        elif "=" in line and out:
            key, _, value = line.partition("=")
            out[-1][1][key.strip()] = value.strip()
    return out


class TestPjsipSampleIsSafeToCopy:
    """Issue 18: the sample bound 0.0.0.0 with 'change-me' passwords and named contexts no sample defined."""

    def test_it_listens_on_loopback_only(self) -> None:
        binds = [v["bind"] for _, v in _sections((DOCS / "pjsip.conf").read_text()) if "bind" in v]
        assert binds and all(b.startswith("127.0.0.1") for b in binds)

    def test_no_auth_carries_a_sample_password(self) -> None:
        # Asterisk refuses to load an auth without a password: the phones stay
        # unregistered until the installer generates one (as the file says how).
        text = (DOCS / "pjsip.conf").read_text()
        assert "change-me" not in text
        auths = [v for _, v in _sections(text) if v.get("type") == "auth"]
        assert len(auths) == 3
        assert all("password" not in a for a in auths)
        assert "openssl rand" in text

    def test_every_context_it_names_is_defined_in_the_docs_dialplan(self) -> None:
        from olive.sim._dialplan import parse_extensions

        contexts = {v["context"] for _, v in _sections((DOCS / "pjsip.conf").read_text()) if "context" in v}
        assert contexts == {"olive-from-trunk", "olive-agent-phones"}
        plan = parse_extensions((DOCS / "olive-phones.conf").read_text(), "olive-phones.conf")
        for context in contexts:
            assert plan.exists(context, "123"), context

    def test_agents_ring_their_phone_with_auto_answer_headers(self) -> None:
        from olive.sim._dialplan import parse_extensions

        plan = parse_extensions((DOCS / "olive-phones.conf").read_text(), "olive-phones.conf")
        dial = plan.priority("olive-agents", "101", 2)
        assert dial is not None and dial.app == "Dial"
        assert dial.data == "PJSIP/${EXTEN},,b(olive-autoanswer^s^1)"
        handler = [plan.priority("olive-autoanswer", "s", n) for n in (1, 2, 3)]
        assert [(p.app, p.data) for p in handler if p is not None] == [
            ("Set", "PJSIP_HEADER(add,Call-Info)=<sip:olive>\\;answer-after=0"),
            ("Set", "PJSIP_HEADER(add,Alert-Info)=<http://olive>\\;info=alert-autoanswer"),
            ("Return", ""),
        ]


def test_queues_sample_logs_member_names_as_agents() -> None:
    general = dict(_sections((DOCS / "queues.conf").read_text()))["general"]
    assert general["log_membername_as_agent"] == "yes"
    assert "log_membername_as_agent" in (ROOT / "docs" / "asterisk-setup.md").read_text()
