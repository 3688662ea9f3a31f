"""A hand-edited plan whose format_version is the right number as a string says what is wrong.

Found by editing a saved plan: ``"format_version": "4"`` was refused with "plan format
version 4 is not supported (this deprecator reads and writes version 4)".
"""

from __future__ import annotations

import json

import pytest

from deprecator.errors import DeprecatorError
from deprecator.plan import FORMAT_VERSION, Plan


def test_a_version_written_as_text_is_shown_as_text() -> None:
    with pytest.raises(DeprecatorError) as info:
        Plan.from_json(json.dumps({"format_version": str(FORMAT_VERSION), "views": []}), source="plan.json")
    assert f'plan format version "{FORMAT_VERSION}" is not supported' in str(info.value)


def test_an_older_version_reads_as_before() -> None:
    with pytest.raises(DeprecatorError) as info:
        Plan.from_json(json.dumps({"format_version": 3, "views": []}), source="plan.json")
    assert str(info.value).startswith("plan.json: plan format version 3 is not supported (this deprecator reads and "
                                      f"writes version {FORMAT_VERSION}; the plan was made by an older deprecator)")
