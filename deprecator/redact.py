"""Keep secrets out of output: mask passwords in URLs and known secret values."""

from __future__ import annotations

import os
import re

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<at>@)")
_SECRET_ENV_HINTS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "URL", "DSN")


def mask_url(url: str) -> str:
    """``postgresql://u:pw@h/db`` -> ``postgresql://u:***@h/db``."""
    if "://" not in url:   # what the pattern needs; the substring test is much cheaper on a long report
        return url
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


MAX_EXCERPT = 300


def excerpt(text: str, limit: int = MAX_EXCERPT) -> str:
    """At most ``limit`` characters of ``text``, marked when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def trim_db_noise(text: str) -> str:
    """``text`` without SQLAlchemy's ``[SQL: ...]``, ``[parameters: ...]`` and background-link tails.

    SQLAlchemy appends the statement, every bound parameter (kilobytes for a batch
    insert) and a link to each error's text; people need the database's own message.
    """
    while True:
        start = text.find("[SQL: ")
        if start < 0:
            start = text.find("[parameters: ")
        if start < 0:
            break
        link = text.find("(Background on this error at: ", start)
        params = text.find("[parameters: ", start)
        if link >= 0:
            end = text.find(")", link)
            end = len(text) if end < 0 else end + 1
        elif params >= 0:
            end = text.find("\n", params)         # the parameters' repr is one line
            end = len(text) if end < 0 else end
        else:
            end = text.find("]\n", start)
            end = len(text) if end < 0 else end + 1
        head = text[:start].rstrip()
        text = head + text[end:]
    link = text.find("(Background on this error at: ")
    if link >= 0:
        end = text.find(")", link)
        text = text[:link].rstrip() + (text[end + 1:] if end >= 0 else "")
    return text
