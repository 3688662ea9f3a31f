"""Keep secrets out of output: mask passwords in URLs and known secret values."""

from __future__ import annotations

import os
import re

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<at>@)")
_SECRET_ENV_HINTS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "URL", "DSN")


def mask_url(url: str) -> str:
    """``postgresql://u:pw@h/db`` -> ``postgresql://u:***@h/db``."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("at"), url)


def redact(text: str) -> str:
    """Mask URL passwords and the values of secret-looking environment variables."""
    text = mask_url(text)
    for name, value in os.environ.items():
        if len(value) >= 6 and any(h in name.upper() for h in _SECRET_ENV_HINTS):
            if "://" in value:
                # A URL-valued variable: only its password is secret.
                m = _URL_PASSWORD.search(value)
                if m and len(m.group("pw")) >= 3:
                    text = text.replace(m.group("pw"), "***")
            else:
                text = text.replace(value, "***")
    return text
