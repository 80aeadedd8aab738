"""The local stack's resident size over a time-compressed day of the demo camera.

    PYTHONPATH=.:layers/common .venv/bin/python -m bench.local_memory --minutes 60

Starts `python -m infra.local --no-camera` in a child process and plays the demo camera from here: the same scene
(infra.camera.camera_frame), the same signed route (infra.camera.post_frame), as fast as `--camera-interval` allows
instead of every 5 s. The day is compressed without faking any clock:

- each frame says it was captured `retention - lifetime` ago, so it reaches the demo contract's retention (one day)
  `--frame-lifetime` seconds after it is sent, where a real frame takes a day;
- the schedules (the retention job) and the local expiry (S3 lifecycle, DynamoDB TTL) are compressed alike:
  `--schedule-scale lifetime/86400`, so the hourly retention job runs 24 times per lifetime.

Frames live in the embedded AWS until the retention job deletes them, so the stack holds the frames sent in the last
lifetime, and its resident size should climb for one lifetime and then stay flat. (Without the retention job, the
expiry or a one-day retention it climbs for the whole run.) A real day of the demo camera is 17,280 frames; the
"demo hours held" column converts what is stored into hours of the demo camera at 5 s.

Every `--sample-every` seconds it prints the child's resident size (VmRSS), the frames sent and the objects in the
frames bucket; the samples go to `.doti/local-memory.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from infra.camera import DeviceCredentials, camera_frame, post_frame
from infra.drawing import encode_jpeg
from infra.memwatch import resident_bytes

ROOT = Path(__file__).resolve().parent.parent
DEMO_INTERVAL = 5.0  # the demo camera's real interval (infra.local's --camera-interval default)
DAY = 86_400.0
MOTO_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # what infra.local gives moto


@dataclass
class Sample:
    minute: float
    rss_mib: float
    frames_sent: int
    frames_refused: int
    objects_stored: int
    demo_hours_held: float


class CompressedCamera:
    """The demo camera at `interval`, each frame back-dated so that it expires `lifetime` seconds after it is sent."""

    def __init__(self, creds: DeviceCredentials, *, interval: float, lifetime: float, retention: timedelta):
        """`lifetime`: seconds from a frame's sending to its reaching the retention."""
        self._creds = creds
        self._interval = interval
        self._age = retention - timedelta(seconds=lifetime)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="compressed-camera", daemon=True)
        self.sent = 0
        self.refused = 0

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            started = time.monotonic()
            now = datetime.now(UTC)
            body = encode_jpeg(camera_frame(number, now))
            try:
                status, answer = post_frame(self._creds, body, captured_at=now - self._age, frame_id=f"mem-{number}")
            except OSError as exc:  # the stack is busy or going away: counted, and the next frame is tried
                status, answer = 0, {"error": str(exc)}
            if status in (200, 201):
                self.sent += 1
            else:
                self.refused += 1
                print(f"frame refused: {status} {answer}", file=sys.stderr, flush=True)
            number += 1
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def start_stack(state_file: Path, schedule_scale: float, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")])}
    command = [sys.executable, "-m", "infra.local", "--port", "0", "--aws-port", "0", "--no-camera"]
    command += ["--schedule-scale", f"{schedule_scale:g}", "--state-file", str(state_file)]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(process: subprocess.Popen[bytes], state_file: Path, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the local stack exited early; see its log")
        if state_file.exists():
            return json.loads(state_file.read_text(encoding="utf-8"))
        time.sleep(0.5)
    raise TimeoutError("the local stack did not start")


def stored_objects(s3: Any, bucket: str) -> int:
    return sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))


def frames_bucket(s3: Any) -> str:
    return next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("doti-frames-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local_memory", description=__doc__)
    parser.add_argument("--minutes", type=float, default=60, help="wall time to run")
    parser.add_argument("--camera-interval", type=float, default=0.2, help="least seconds between frames")
    parser.add_argument("--frame-lifetime", type=float, default=1200, help="seconds from sending to retention")
    parser.add_argument("--sample-every", type=float, default=60, help="seconds between samples")
    parser.add_argument("--retention-days", type=int, default=1, help="the demo contract's retention (infra.seed)")
    parser.add_argument("--out", type=Path, default=ROOT / ".doti" / "local-memory.json")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the stack on the way out (finally below)
    work = Path(tempfile.mkdtemp(prefix="doti-local-memory-"))
    process = start_stack(work / "local.json", args.frame_lifetime / DAY, work / "local.log")
    samples: list[Sample] = []
    camera: CompressedCamera | None = None
    try:
        state = wait_ready(process, work / "local.json")
        creds = DeviceCredentials(state["api_url"], state["device_id"], state["device_secret"], state["camera_id"])
        s3 = boto3.client("s3", endpoint_url=state["aws_endpoint"], region_name="us-east-1", **MOTO_CREDENTIALS)
        bucket = frames_bucket(s3)
        camera = CompressedCamera(
            creds,
            interval=args.camera_interval,
            lifetime=args.frame_lifetime,
            retention=timedelta(days=args.retention_days),
        )
        print(f"stack pid {process.pid}, log {work / 'local.log'}; a frame lives {args.frame_lifetime:g} s")
        print("| minute | RSS MiB | frames sent | objects stored | demo hours held |")
        print("|---:|---:|---:|---:|---:|", flush=True)
        started = time.monotonic()
        camera.start()
        while (elapsed := time.monotonic() - started) < args.minutes * 60 and process.poll() is None:
            objects = stored_objects(s3, bucket)
            sample = Sample(
                minute=round(elapsed / 60, 1),
                rss_mib=round(resident_bytes(process.pid) / 2**20, 1),
                frames_sent=camera.sent,
                frames_refused=camera.refused,
                objects_stored=objects,
                demo_hours_held=round(objects / 2 * DEMO_INTERVAL / 3600, 1),  # a frame and its thumbnail
            )
            samples.append(sample)
            print(
                f"| {sample.minute:g} | {sample.rss_mib:,.1f} | {sample.frames_sent:,} | {sample.objects_stored:,} "
                f"| {sample.demo_hours_held:g} |",
                flush=True,
            )
            time.sleep(max(0.0, args.sample_every - (time.monotonic() - started - elapsed)))
    finally:
        if camera is not None:
            camera.stop()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([asdict(s) for s in samples], indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
