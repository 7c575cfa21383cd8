"""Identifiers and timestamps in Cloudflare's formats."""
import datetime
import secrets


def now():
    """A timestamp in Cloudflare's format (microseconds, Z)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id():
    """A 32-hex-digit identifier, like Cloudflare's."""
    return secrets.token_hex(16)
