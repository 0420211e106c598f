"""olive.sim's public names, and every private module's explicit __all__."""

from __future__ import annotations

import olive.sim


def test_public_names_resolve() -> None:
    assert olive.sim.__all__ == sorted(olive.sim.__all__, key=str)
    for name in olive.sim.__all__:
        assert getattr(olive.sim, name) is not None


def test_importing_the_package_does_not_start_the_server_modules() -> None:
    import subprocess
    import sys

    code = "import sys, olive.sim; print('olive.sim._server' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
