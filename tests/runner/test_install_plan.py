"""How a manifest's install lines become pip invocations."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from bot.runner.install import InstallError, check_python, describe_pin, plan_install

SHA = "a" * 64


def test_hashed_line_is_installed_first_then_resolved_by_version() -> None:
    plan = plan_install([f"acmenet==1.0 --hash=sha256:{SHA}", "librosa<0.10"], "2.13.0")
    assert plan.hashed == (f"acmenet==1.0 --hash=sha256:{SHA}",)
    assert plan.resolved == ("acmenet==1.0", "librosa<0.10", "numpy", "soundfile", "torch")
    assert plan.constraints == ("torch==2.13.0",)


def test_torch_named_by_the_manifest_is_not_constrained() -> None:
    url = f"acme @ https://example.org/acme-1.0-py3-none-any.whl#sha256={SHA}"
    plan = plan_install([url, "torch==2.5.1", "numpy<2"], "2.13.0")
    assert plan.constraints == ()
    assert plan.resolved == (url, "torch==2.5.1", "numpy<2", "soundfile")


def test_same_pins_same_environment_key() -> None:
    lines = [f"acmenet==1.0 --hash=sha256:{SHA}"]
    assert plan_install(lines, "2.13.0").key() == plan_install(lines, "2.13.0").key()
    assert plan_install(lines, "2.13.0").key() != plan_install(lines, "2.12.0").key()


def test_refused_lines_never_reach_pip() -> None:
    with pytest.raises(InstallError, match="not allowed"):
        plan_install(["-e /tmp/evil", f"acmenet==1.0 --hash=sha256:{SHA}"], "2.13.0")


def test_python_requirement() -> None:
    check_python(None)
    check_python(f"=={platform.python_version()}")
    with pytest.raises(InstallError, match=r"needs Python <3\.0"):
        check_python("<3.0")
    with pytest.raises(InstallError, match="not a version specifier"):
        check_python("three")


def test_describe_pin_names_the_content_pinned_line() -> None:
    assert describe_pin(["librosa<0.10", f"x==1 --hash=sha256:{SHA}"]).startswith("x==1")


def test_without_dependencies_installs_pinned_packages_alone() -> None:
    url = f"acme @ https://example.org/acme-1.0-py3-none-any.whl#sha256={SHA}"
    hashed = f"hearbaseline==2021.1.1 --hash=sha256:{SHA}"
    plan = plan_install([hashed, url, "librosa<0.10"], "2.13.0", without_dependencies=True)
    assert plan.hashed == (hashed,)
    assert plan.unresolved == (url,)
    assert plan.resolved == ("librosa<0.10", "numpy", "soundfile", "torch")
    default = plan_install([hashed, url, "librosa<0.10"], "2.13.0")
    assert default.key() != plan.key()


def test_sandboxed_pip_trusts_the_runners_ca_bundle(tmp_path: Path) -> None:
    from bot.runner.install import SYSTEM_CA_BUNDLE, trusted_certificates

    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert trusted_certificates({"PIP_CERT": str(bundle)}) == bundle
    assert trusted_certificates({"SSL_CERT_FILE": str(bundle)}) == bundle
    missing = {"PIP_CERT": str(tmp_path / "absent.pem")}
    expected = SYSTEM_CA_BUNDLE.resolve() if SYSTEM_CA_BUNDLE.is_file() else None
    assert trusted_certificates(missing) == expected
