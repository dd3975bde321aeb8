"""Benchmark: what moving media bytes costs a wa job, against the plain text job.

    .venv/bin/python bench/media_jobs.py [--runs 9]

Against a private embedded Redis and one `wagw wa-worker --slot 1` (fake backend), one job at
a time (the wa-worker runs jobs serially), each timed from enqueue to `finished` as an app
sees it, --runs times per case:
- send_text (the baseline);
- send_image with a 1 MB PNG (random pixels, so it does not compress) by base64, by a path in
  WAGW_MEDIA_DIR and by an http URL (a local server; WAGW_FETCH_PRIVATE=true for the bench);
- send_video with a 10 MB MP4-typed file by the same three sources: the wa-worker reads or
  downloads it, sniffs it, sends it base64 over the host pipe, the host decodes it and calls
  the backend (the fake hashes the bytes and records the call).
Prints each case's median and its ratio to send_text's median.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq import Queue  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from bench.wa_jobs import Bench  # noqa: E402
from wagw.supervisor.embedded_redis import start_standalone  # noqa: E402

ALICE = "15551234567@s.whatsapp.net"


def noise_png(target: int) -> bytes:
    from PIL import Image

    side = int((target / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "png", compress_level=1)
    return buffer.getvalue()


def fake_mp4(size: int) -> bytes:
    return b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + os.urandom(size - 24)


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            data = (directory / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def timed(queue: Queue, func: str, kwargs: dict) -> float:
    started = time.perf_counter()
    job = queue.enqueue(func, **kwargs)
    while True:
        status = job.get_status(refresh=True)
        if status == "finished":
            return time.perf_counter() - started
        if status == "failed":
            raise SystemExit(f"bench: {func} failed: {job.latest_result().exc_string}")
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-media-", dir="/tmp"))
    media = data_dir / "media"
    media.mkdir()
    redis_proc, redis = start_standalone(data_dir)
    server = None
    worker = None
    bench = Bench(data_dir, redis.url)
    try:
        bench.env.update({"WAGW_MEDIA_DIR": str(media), "WAGW_FETCH_PRIVATE": "true"})
        image, video = noise_png(1_000_000), fake_mp4(10_000_000)
        (media / "image.png").write_bytes(image)
        (media / "video.mp4").write_bytes(video)
        server, base = serve(media)
        image_b64, video_b64 = base64.b64encode(image).decode(), base64.b64encode(video).decode()
        cases = [
            ("send_text", "workers.wa.send_text", {"to": ALICE, "text": "hello"}),
            ("image 1 MB base64", "workers.wa.send_image", {"to": ALICE, "image": image_b64}),
            ("image 1 MB path", "workers.wa.send_image", {"to": ALICE, "image": "file://image.png"}),
            ("image 1 MB URL", "workers.wa.send_image", {"to": ALICE, "image": f"{base}/image.png"}),
            ("video 10 MB base64", "workers.wa.send_video", {"to": ALICE, "video": video_b64}),
            ("video 10 MB path", "workers.wa.send_video", {"to": ALICE, "video": "file://video.mp4"}),
            ("video 10 MB URL", "workers.wa.send_video", {"to": ALICE, "video": f"{base}/video.mp4"}),
        ]
        print(f"image {len(image)} bytes, video {len(video)} bytes, {args.runs} runs per case")
        worker = bench.start_wa_worker()
        queue = Queue("wa", connection=bench.conn, serializer=JSONSerializer)
        for _, func, kwargs in cases:  # warm each path once
            timed(queue, func, kwargs)
        medians: dict[str, float] = {}
        for name, func, kwargs in cases:
            samples = [timed(queue, func, kwargs) for _ in range(args.runs)]
            medians[name] = statistics.median(samples)
            shown = " ".join(f"{s * 1000:.0f}" for s in samples)
            print(f"{name:20} median {medians[name] * 1000:7.1f} ms   samples (ms): {shown}")
        base_median = medians["send_text"]
        print()
        print("| case | median | x send_text |")
        print("|---|---|---|")
        for name, median in medians.items():
            print(f"| {name} | {median * 1000:.1f} ms | {median / base_median:.1f} |")
    finally:
        if worker is not None:
            bench.stop(worker)
        if server is not None:
            server.shutdown()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
