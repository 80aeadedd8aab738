"""`make run`: the whole service on this machine, built from template.yaml.

moto (server mode) plays AWS; every table, bucket, queue and key of the template is created in it; Chalice's
local API Gateway serves every Api route to the real handlers; the Schedule events fire on their rates; the SQS
events deliver their queues' messages to their functions (infra.queues); a demo contract is seeded through the
staff routes and a simulated camera posts frames through the signed device route.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import threading
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _aws_environment(endpoint: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="doti",
        POWERTOOLS_SERVICE_NAME="doti-local",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DOTI_PORT", "8000")), help="API port (0: any)")
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("DOTI_AWS_PORT", "5050")), help="moto port (0: any)"
    )
    parser.add_argument("--camera-interval", type=float, default=5.0, help="seconds between simulated frames")
    parser.add_argument("--no-camera", action="store_true", help="do not start the simulated camera")
    parser.add_argument(
        "--schedule-scale", type=float, default=1.0, help="multiply schedule rates (0.01: hourly -> 36 s)"
    )
    parser.add_argument(
        "--queue-visibility",
        type=int,
        default=5,
        help="seconds a delivered SQS message stays hidden (-1: the queue's own VisibilityTimeout); with 5 a failing "
        "upload reaches the dead-letter queue after maxReceiveCount (5) tries, in about 25 s instead of 30 minutes",
    )
    parser.add_argument(
        "--expiry-every",
        type=float,
        metavar="SECONDS",
        help="how often S3 lifecycle rules and DynamoDB TTL are applied locally (default: hourly, times "
        "--schedule-scale)",
    )
    parser.add_argument(
        "--ttl-delay",
        type=float,
        metavar="SECONDS",
        help="how long after its TTL an item is deleted locally (default: two hours, times --schedule-scale; AWS takes "
        "up to a few days)",
    )
    parser.add_argument("--state-file", type=Path, default=ROOT / ".doti" / "local.json")
    parser.add_argument(
        "--tracemalloc",
        type=float,
        default=0,
        metavar="SECONDS",
        help="debugging: log the resident size and the allocation sites grown since the first report, this often",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for chatty in ("pynamodb", "botocore", "boto3"):  # their INFO lines are about config files we do not use
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # A job run that counted nothing has no metrics to flush; Powertools warns about it on every such run.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    aws_port = args.aws_port or free_port()
    api_port = args.port or free_port()
    api_url = f"http://{args.host}:{api_port}"
    # ThumbnailFunction's Function URL: its own port, as a Function URL is its own host (infra.gateway).
    thumbnails_url = f"http://{args.host}:{free_port()}/"

    from moto.server import ThreadedMotoServer

    from infra.moto_memory import copy_touched_items_only, stop_tracking_instances

    # A local stack runs for days: moto must free what it deletes, and not copy whole tables per transaction.
    stop_tracking_instances()
    copy_touched_items_only()
    moto_server = ThreadedMotoServer(ip_address=args.host, port=aws_port, verbose=False)
    moto_server.start()
    aws_endpoint = f"http://{args.host}:{aws_port}"
    _aws_environment(aws_endpoint)

    # Imported after the environment is set: nothing binds to AWS before this point.
    import boto3

    from infra import gateway, queues, scheduler, template
    from infra.bootstrap import create_admin_key
    from infra.camera import DeviceCredentials, SimulatedCamera
    from infra.provision import provision
    from infra.seed import seed_demo

    spec = template.load_template()
    # Links the viewer hands out are on the local API, as they are on the deployed one (template.yaml PublicBaseUrl).
    provisioned = provision(
        spec,
        region=REGION,
        parameters={"PublicBaseUrl": api_url},
        attributes={"ThumbnailFunctionUrl.FunctionUrl": thumbnails_url},
    )
    os.environ.update({k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"})
    # A local setting, never deployed (template.yaml cannot set it): webhooks may go to receivers on this machine,
    # http://127.0.0.1:<port>/..., so a receiver can be tried (and tested) without a public HTTPS address.
    os.environ["WEBHOOKS_ALLOW_LOOPBACK"] = "true"

    functions = gateway.load_functions(template.functions(spec).values())
    app = gateway.TemplateApp(template.api_routes(spec), functions, template.binary_media_types(spec))
    app.on_error = lambda exc: logging.getLogger("doti.local.gateway").error("handler crashed", exc_info=exc)
    server, _ = gateway.serve(app, args.host, api_port)
    thumbnails_port = int(thumbnails_url.rstrip("/").rsplit(":", 1)[1])
    renderer, _ = gateway.serve_function_url(functions["ThumbnailFunction"], args.host, thumbnails_port)

    jobs = scheduler.Scheduler(
        template.schedules(spec),
        functions,
        region=REGION,
        account=ACCOUNT,
        scale=args.schedule_scale,
        sqs=boto3.client("sqs", region_name=REGION),
        queue_urls=provisioned.refs,
    )
    jobs.start()
    pump = queues.QueuePump(
        queues.queue_sources(spec),
        functions,
        provisioned.refs,
        boto3.client("sqs", region_name=REGION),
        region=REGION,
        visibility_timeout=None if args.queue_visibility < 0 else args.queue_visibility,
    )
    pump.start()
    ttl_delay = timedelta(seconds=args.ttl_delay if args.ttl_delay is not None else 7200 * args.schedule_scale)
    local_expiry = _local_expiry(spec, provisioned.refs, boto3, ttl_delay)
    expiry_every = args.expiry_every or 3600 * args.schedule_scale
    local_expiry.start(expiry_every)

    from doti import runtime
    from doti.ingest.clip_encoding import InProcessClipEncoder

    # No clip function to invoke locally: masked clips are encoded in this process, through the same staging key.
    runtime.encode_clips_in_process(InProcessClipEncoder)
    runtime.init()  # binds the models to the provisioned tables, as a cold start does
    _, staff_key = create_admin_key("Local Admin")
    demo = seed_demo(api_url, staff_key)
    camera = None
    if not args.no_camera:
        camera = SimulatedCamera(
            DeviceCredentials(api_url, demo.device_id, demo.device_secret, demo.camera_id),
            interval=args.camera_interval,
        )
        camera.start()

    state = {
        "api_url": api_url,
        "thumbnails_url": thumbnails_url,
        "aws_endpoint": aws_endpoint,
        "staff_api_key": staff_key,
        "contract_id": demo.contract_id,
        "site_id": demo.site_id,
        "camera_id": demo.camera_id,
        "device_id": demo.device_id,
        "device_secret": demo.device_secret,
        "login_id": demo.login_id,
        "password": demo.password,
        # What `python -m infra.verify_audit --local` reads (a deployed stack has them as outputs).
        "audit_table": provisioned.refs["AuditTable"],
        "contracts_table": provisioned.refs["ContractsTable"],
        "audit_anchor_bucket": provisioned.refs["AuditAnchorBucket"],
    }
    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole and then renamed: whoever waits for the file (the tests, a second terminal) never reads half.
    partial = args.state_file.with_name(args.state_file.name + ".partial")
    partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    partial.replace(args.state_file)
    expiring = f"S3 lifecycle and DynamoDB TTL every {expiry_every:g}s (moto never expires anything)"
    _print_banner(state, args.state_file, [*jobs.describe(), expiring], camera is not None)
    if args.tracemalloc > 0:
        from infra.memwatch import MemoryWatch

        MemoryWatch(args.tracemalloc).start()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()

    print("\nstopping…", flush=True)
    if camera:
        camera.stop()
    jobs.stop()
    pump.stop()
    local_expiry.stop()
    server.shutdown()
    renderer.shutdown()
    moto_server.stop()
    print("stopped.", flush=True)
    return 0


def _local_expiry(spec: dict[str, Any], refs: dict[str, str], boto3: Any, ttl_delay: timedelta) -> Any:
    """S3 lifecycle expiration and DynamoDB TTL from the template, which moto stores but never applies."""
    from infra import expiry

    def forget_tags(report: expiry.ExpiryReport) -> None:
        report.tags_forgotten = expiry.forget_tags_of_deleted_objects(ACCOUNT)

    return expiry.LocalExpiry(
        boto3.client("s3", region_name=REGION),
        boto3.client("dynamodb", region_name=REGION),
        buckets={refs[name]: rules for name, rules in expiry.expiration_rules(spec).items()},
        tables={refs[name]: attribute for name, attribute in expiry.ttl_attributes(spec).items()},
        after_run=forget_tags,
        ttl_delay=ttl_delay,
    )


def _print_banner(state: dict[str, str], state_file: Path, schedules: list[str], camera: bool) -> None:
    api = state["api_url"]
    lines = [
        "",
        "doti is running locally",
        f"  web viewer     {api}/   (phone or desktop browser; log in with the customer login below)",
        f"  API            {api}   (routes of template.yaml; docs at {api}/v1/openapi.json)",
        f"  thumbnails     {state['thumbnails_url']}   (ThumbnailFunction's Function URL: stills' thumbnails)",
        f"  embedded AWS   {state['aws_endpoint']}   (moto)",
        f"  customer login {state['login_id']} / {state['password']}",
        "                 (a local demo only: the seed set this password at the owner's first login; any user staff",
        "                 create gets a temporary password, shown once, that must be changed at first login)",
        f"  staff API key  {state['staff_api_key']}",
        f"  demo camera    {state['camera_id']}" + ("   (simulated; a frame every few seconds)" if camera else ""),
        f"  schedules      {'; '.join(schedules)}",
        "  webhooks       receivers on http://127.0.0.1:<port>/... are allowed (local setting WEBHOOKS_ALLOW_LOOPBACK;",
        "                 a deployed stack sends only to public HTTPS addresses)",
        f"  state file     {state_file}",
        "",
        "  try:",
        f"    TOKEN=$(curl -s -X POST {api}/v1/auth/login -H 'Content-Type: application/json' \\",
        f'      -d \'{{"login_id": "{state["login_id"]}", "password": "{state["password"]}"}}\' \\',
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')",
        f'    curl -s {api}/v1/cameras/{state["camera_id"]}/frames?limit=3 -H "Authorization: Bearer $TOKEN"',
        "",
        "  Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
