"""wagw.client in an app's folder with no Redis where wagw's settings point: one clear error
naming the URL it tried and where that came from, not redis-py's traceback."""

from __future__ import annotations

import os
import subprocess
import sys

APP = """
from wagw import client
try:
    client.enqueue_send_text("15551234567", "hi")
except client.RedisUnreachable as error:
    print("REFUSED", error)
"""


def test_the_client_names_the_redis_it_tried_and_how_it_found_it(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_") and k != "STATE_DIRECTORY"}
    env["WAGW_DATA_DIR"] = str(tmp_path / "nowhere")
    done = subprocess.run(
        [sys.executable, "-c", APP], cwd=app, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    socket = tmp_path / "nowhere" / "redis" / "redis.sock"
    assert done.stdout.startswith(f"REFUSED wagw.client: no Redis at unix://{socket} (")
    assert f"that URL is the embedded Redis's socket in the data dir {tmp_path / 'nowhere'}, from WAGW_DATA_DIR" in (
        done.stdout
    )
    assert "WAGW_REDIS_URL" in done.stdout and "Traceback" not in done.stderr
