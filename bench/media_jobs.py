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
Prints each case's median and its ratio to send_text's median. --smoke runs every case once
with small files, in seconds. A job failing, or the wa-worker exiting, or a job not done in the
time the slowest rate here would need, stops the bench at once, named on stderr, exit status 1.
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
from rq.exceptions import InvalidJobOperation  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402
from bench.wa_jobs import Bench  # noqa: E402
from wagw.supervisor.embedded_redis import start_standalone  # noqa: E402

ALICE = "15551234567@s.whatsapp.net"
# Bytes a second below which a media job cannot be a measurement: a 10 MB video goes through
# in 0.15-1.3 s here.
FLOOR_RATE = 500_000.0
SMOKE = {"runs": 1, "image_bytes": 20_000, "video_bytes": 100_000}


def size(count: int) -> str:
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count / 1000:g} kB"


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


def timed(bench: Bench, queue: Queue, func: str, kwargs: dict, count: int) -> float:
    """Seconds from enqueue to finished of one job moving `count` bytes."""
    started = time.perf_counter()
    limit = started + harness.deadline(count, FLOOR_RATE, bench.grace)
    job = queue.enqueue(func, **kwargs)
    while True:
        try:
            status = job.get_status(refresh=True)
        except InvalidJobOperation:
            raise CannotMeasure(
                f"{func}: its job's record vanished before it ended (an app polling it fails too)"
            ) from None
        if status == "finished":
            return time.perf_counter() - started
        if status == "failed":
            result = job.latest_result()
            raise CannotMeasure(f"{func} failed: {result.exc_string if result else 'no result recorded'}")
        bench.check()
        if time.perf_counter() > limit:
            raise CannotMeasure(f"{func} of {size(count)}: not {status} within {limit - started:.0f} s")
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--image-bytes", type=int, default=1_000_000, help="size of the image (default 1 MB)")
    parser.add_argument("--video-bytes", type=int, default=10_000_000, help="size of the video (default 10 MB)")
    args = harness.parse(parser, SMOKE)
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-media-", dir="/tmp"))
    media = data_dir / "media"
    media.mkdir()
    redis_proc, redis = start_standalone(data_dir)
    server = None
    worker = None
    bench = Bench(data_dir, redis.url, args.grace)
    try:
        bench.env.update({"WAGW_MEDIA_DIR": str(media), "WAGW_FETCH_PRIVATE": "true"})
        image, video = noise_png(args.image_bytes), fake_mp4(args.video_bytes)
        shown_image, shown_video = size(args.image_bytes), size(args.video_bytes)
        (media / "image.png").write_bytes(image)
        (media / "video.mp4").write_bytes(video)
        server, base = serve(media)
        image_b64, video_b64 = base64.b64encode(image).decode(), base64.b64encode(video).decode()
        cases = [
            ("send_text", "workers.wa.send_text", {"to": ALICE, "text": "hello"}, 0),
            (f"image {shown_image} base64", "workers.wa.send_image", {"to": ALICE, "image": image_b64}, len(image)),
            (
                f"image {shown_image} path",
                "workers.wa.send_image",
                {"to": ALICE, "image": "file://image.png"},
                len(image),
            ),
            (
                f"image {shown_image} URL",
                "workers.wa.send_image",
                {"to": ALICE, "image": f"{base}/image.png"},
                len(image),
            ),
            (f"video {shown_video} base64", "workers.wa.send_video", {"to": ALICE, "video": video_b64}, len(video)),
            (
                f"video {shown_video} path",
                "workers.wa.send_video",
                {"to": ALICE, "video": "file://video.mp4"},
                len(video),
            ),
            (
                f"video {shown_video} URL",
                "workers.wa.send_video",
                {"to": ALICE, "video": f"{base}/video.mp4"},
                len(video),
            ),
        ]
        print(f"image {len(image)} bytes, video {len(video)} bytes, {args.runs} runs per case")
        worker = bench.start_wa_worker()
        queue = Queue("wa", connection=bench.conn, serializer=JSONSerializer)
        for _, func, kwargs, count in cases:  # warm each path once
            timed(bench, queue, func, kwargs, count)
        medians: dict[str, float] = {}
        for name, func, kwargs, count in cases:
            samples = [timed(bench, queue, func, kwargs, count) for _ in range(args.runs)]
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
    raise SystemExit(harness.run(main))
