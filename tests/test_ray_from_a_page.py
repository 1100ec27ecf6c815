"""The Ray path the way the dashboard takes it: a pool first made by a page's script thread, which then ends.

Ray's GCS and raylet ended with the thread that called ``ray.init()``, and Ray then ended the whole process
about 60 s later ("Failed to connect to GCS within 60 seconds"): one press of Start took the dashboard down.
"""

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Ray waits this long for a GCS that is gone before it ends the process (RAY_gcs_rpc_server_reconnect_timeout_s,
# 60 s by default): shortened so that the test sees the old failure sooner (checked: with ray.init() called by the
# ending thread itself and 10 s here, the process was gone 10.5 s after the init). Not shorter: on a loaded 2-core
# CI, a live GCS answered late enough for 10 s to end a healthy process.
GCS_TIMEOUT_S = 20

SCRIPT = f"GCS_TIMEOUT_S = {GCS_TIMEOUT_S}\n" + textwrap.dedent("""
    import threading, time
    from aecore.jobs import FINISHED, RayPool, TrainingJob
    from aecore.data import load_dataset
    from aecore.presets import preset_config

    made = []
    page = threading.Thread(target=lambda: made.append(RayPool(slots={"cpu": 1})))  # a page's script thread
    page.start()
    page.join()  # ... which ends, as every script run does
    time.sleep(GCS_TIMEOUT_S + 8)  # past Ray's wait for its GCS: the process used to be ended here
    config = preset_config("ae", dataset="digits", epochs=1)
    job = TrainingJob(lambda data, device=None: load_dataset(data), made[0])
    job.start(config)
    job.join(timeout=180)
    print("status", job.snapshot().status == FINISHED)
""")


def test_a_ray_pool_made_by_a_thread_that_ends_keeps_working(tmp_path):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install -r requirements-dev.txt): the Ray path is not tested")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=400,
                            env={"PATH": "/usr/bin:/bin", "AECORE_DATA_DIR": str(tmp_path), "HOME": str(tmp_path),
                                 "RAY_gcs_rpc_server_reconnect_timeout_s": str(GCS_TIMEOUT_S)})
    assert "status True" in result.stdout, f"exit {result.returncode}\n" + result.stdout[-2000:] + result.stderr[-3000:]
