from ansible_collections.talos.autoextender.plugins.module_utils._errors import (
    REDACTED,
    AutoextenderError,
    redact,
)


def test_redact_recurses_and_prefers_the_longest_secret():
    secrets = ["abcd", "abcdefgh"]
    value = {"a": "x abcdefgh y", "b": ["abcd", ("abcd!",)], "c": 3}
    assert redact(value, secrets) == {"a": "x %s y" % REDACTED, "b": [REDACTED, (REDACTED + "!",)], "c": 3}


def test_redact_ignores_empty_and_tiny_secrets():
    # A one-letter "secret" would shred every message; such values are not secrets.
    assert redact("a b c", ["", None, "a"]) == "a b c"


def test_error_failure_is_structured_and_redacted():
    err = AutoextenderError("talosctl failed: token s3cr3t-token", kind="command",
                            details={"cmd": ["talosctl", "x"], "rc": 1, "stderr": "s3cr3t-token leaked"},
                            partial={"id": 1, "token": "s3cr3t-token"})
    safe = err.redacted(["s3cr3t-token"])
    assert "s3cr3t-token" not in repr(safe.failure()) + safe.msg + repr(safe.partial)
    assert safe.failure() == {"kind": "command", "cmd": ["talosctl", "x"], "rc": 1,
                              "stderr": REDACTED + " leaked"}
    assert str(safe) == "talosctl failed: token " + REDACTED
