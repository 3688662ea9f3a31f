"""A named pipe (or socket) called *.sql inside a scanned folder is reported, not read.

Found by scanning a folder that held a FIFO named pipe.sql: `deprecator scan` blocked
forever opening it (no writer), with no output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deprecator.sources.files import expand_paths

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")


def test_a_fifo_in_a_folder_is_a_problem_not_a_file(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "a.sql").write_text("select * from customer\n")
    os.mkfifo(models / "pipe.sql")
    files, problems = expand_paths(["models"], tmp_path)
    assert files == [models / "a.sql"]
    assert [(p.object, p.reason) for p in problems] == [("models/pipe.sql", "not a regular file (a pipe, socket "
                                                         "or device), not read")]

