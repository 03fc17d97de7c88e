"""`auditkit bundle` and `auditkit verify`: what they print, and their exit codes."""

import pytest
from bundles import members, repack, results_with
from click.testing import CliRunner

from auditkit.cli import EXIT_INPUT, EXIT_UNVERIFIED, main


def test_bundle_then_verify_exit_zero_and_say_what_was_checked(run_dir, bundle, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli.zip"
    made = runner.invoke(main, ["bundle", str(run_dir), "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines()[-1] == f"bundle: {out}"
    assert made.stdout.startswith("members: 8, hashed in bundle.json (sha256 ")
    assert out.read_bytes() == bundle.read_bytes()
    checked = runner.invoke(main, ["verify", str(out)])
    assert checked.exit_code == 0, checked.output
    lines = checked.stdout.splitlines()
    assert lines[0] == "members: 8, each as bundle.json hashes it"
    assert lines[1].startswith("evidence: ") and lines[1].endswith(
        " meta; every row as evidence.rows.jsonl lists it"
    )
    assert lines[2:] == [
        "recomputed from the evidence alone, byte for byte: results.json, report.html, report.md",
        "signature: not signed",
        f"verified: {out}",
    ]


def test_verify_exits_4_naming_each_difference(bundle, tmp_path):
    results, metric = results_with(members(bundle)["results.json"], 2, 0.5)
    tampered = repack(bundle, tmp_path / "t.zip", {"results.json": results})
    checked = CliRunner().invoke(main, ["verify", str(tampered)])
    assert checked.exit_code == EXIT_UNVERIFIED == 4
    lines = checked.stderr.splitlines()
    assert lines[0] == f"verification failed: {tampered}"
    assert lines[1].startswith("  results.json: ") and "bundle.json lists" in lines[1]
    assert lines[2].startswith(f"  results.json: $.metrics[2].value ({metric}): bundled 0.5, ")
    assert checked.stdout == ""


@pytest.mark.parametrize("content", [None, b"not a zip"])
def test_verify_of_no_bundle_is_an_input_error(tmp_path, content):
    path = tmp_path / "x.zip"
    if content is not None:
        path.write_bytes(content)
    checked = CliRunner().invoke(main, ["verify", str(path)])
    assert checked.exit_code == EXIT_INPUT
    assert checked.stderr.startswith(f"error: {path}: ")


def test_bundle_of_an_unfinished_run_is_an_input_error(tmp_path):
    (tmp_path / "empty").mkdir()
    made = CliRunner().invoke(main, ["bundle", str(tmp_path / "empty")])
    assert made.exit_code == EXIT_INPUT
    assert made.stderr.startswith(f"error: {tmp_path / 'empty'}: has no spec.json, plan.parquet")


def test_sign_key_password_comes_from_the_environment(run_dir, tmp_path, monkeypatch):
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hunter2"),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    runner = CliRunner()
    out = tmp_path / "signed.zip"
    args = ["bundle", str(run_dir), "--out", str(out), "--sign-key", str(private)]
    unset = runner.invoke(main, [*args, "--sign-key-password-env", "AKT_KEY_PASSWORD"])
    assert unset.exit_code == EXIT_INPUT
    assert unset.stderr == (
        "error: --sign-key-password-env: ${AKT_KEY_PASSWORD} must be set; got None\n"
    )
    monkeypatch.setenv("AKT_KEY_PASSWORD", "hunter2")
    made = runner.invoke(main, [*args, "--sign-key-password-env", "AKT_KEY_PASSWORD"])
    assert made.exit_code == 0, made.output
    assert "signed with key sha256:" in made.stdout
    checked = runner.invoke(main, ["verify", str(out), "--public-key", str(public)])
    assert checked.exit_code == 0, checked.output
    assert "signature: valid: signed with key sha256:" in checked.stdout
