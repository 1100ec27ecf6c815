"""The opt-in per-run duration log that bench.load reads back."""

import logging
import re
import time

import pytest

from aecore.ui.run_timing import ENV_FLAG, logged_duration
from bench.load import RUN_LINE


def test_each_page_run_is_logged_with_its_seconds_when_asked(monkeypatch, caplog):
    monkeypatch.setenv(ENV_FLAG, "1")
    with caplog.at_level(logging.WARNING, logger="aecore.ui.run_timing"):
        with logged_duration("views/explore.py"):
            pass
        with pytest.raises(RuntimeError), logged_duration("views/draw.py"):  # a run that raises (st.rerun does)
            raise RuntimeError
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split()[2] for line in lines] == ["views/explore.py", "views/draw.py"]
    assert all(0 <= float(RUN_LINE.search(line).group(2)) < 60 for line in lines)
    assert all(0 <= float(RUN_LINE.search(line).group(3)) < 60 for line in lines)


def test_a_run_that_waits_logs_its_wall_time_and_less_cpu_time(monkeypatch, caplog):
    monkeypatch.setenv(ENV_FLAG, "1")
    with caplog.at_level(logging.WARNING, logger="aecore.ui.run_timing"), logged_duration("views/home.py"):
        time.sleep(0.2)
    wall, cpu = (float(part) for part in re.findall(r"([0-9.]+) s", caplog.records[0].getMessage()))
    assert wall >= 0.2 > cpu


def test_nothing_is_logged_by_default(monkeypatch, caplog):
    monkeypatch.delenv(ENV_FLAG, raising=False)
    with caplog.at_level(logging.DEBUG), logged_duration("views/explore.py"):
        pass
    assert not [record for record in caplog.records if record.name == "aecore.ui.run_timing"]
