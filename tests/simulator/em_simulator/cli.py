"""Command line: ``python -m em_simulator serve [options]`` and ``python -m em_simulator build [options]``."""

import argparse
import json
import os
import signal
import sys
import threading
import time

from em_simulator import dataset, faults, model, server, store, tls

DEFAULT_USER = "EMSIM\\veeam"
DEFAULT_PASSWORD = "Sim-Passw0rd!"


def default_state_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "opsbox-em-simulator")


def _add_dataset_args(parser):
    parser.add_argument("--dataset", default="demo", choices=sorted(dataset.PRESETS), help="named data set (default demo)")
    parser.add_argument("--cache-dir", help="data set cache directory (default: <state dir>/datasets)")
    parser.add_argument("--state-dir", default=default_state_dir(), help="CA/cert/key directory (default ~/.cache/opsbox-em-simulator)")
    for name in ("vms", "days", "replica-jobs", "replica-runs-per-day", "backup-jobs", "backup-runs-per-day", "cdp-vms",
                 "backup-servers", "seed"):
        parser.add_argument("--" + name, type=int, help="override the preset's %s" % name.replace("-", "_"))
    parser.add_argument("--special-names", action=argparse.BooleanOptionalAction, default=None,
                        help="include names with quotes, ; , ( ), unicode and Jinja markers (default on)")
    parser.add_argument("--canary", metavar="PATH",
                        help="also add VM and job names that would run 'touch PATH' (PATH-stmt, PATH-job) if templated")


def build_parser():
    parser = argparse.ArgumentParser(prog="em_simulator", description="Veeam Enterprise Manager REST API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run the server")
    _add_dataset_args(srv)
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=0, help="0 picks a free port")
    srv.add_argument("--tls", action=argparse.BooleanOptionalAction, default=False, help="serve HTTPS with a generated CA")
    srv.add_argument("--tls-cert", choices=tls.CERT_VARIANTS, default="valid",
                     help="server certificate: valid, expired, wrong_host (issued for another name) or untrusted "
                          "(signed by a CA that is not in ca_path); implies --tls")
    srv.add_argument("--tls-max-version", choices=tls.TLS_VERSIONS,
                     help="highest TLS version offered (1.0 or 1.1 also lower OpenSSL's security level); implies --tls")
    srv.add_argument("--dialect", choices=("v12", "v13"), default="v12", help="JSON key casing")
    srv.add_argument("--bom", action=argparse.BooleanOptionalAction, default=False, help="prefix JSON bodies with a UTF-8 BOM")
    srv.add_argument("--username", default=DEFAULT_USER)
    srv.add_argument("--password", default=DEFAULT_PASSWORD)
    srv.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD:ROLE",
                     help="extra user; ROLE PortalAdministrator, PortalUser or RestoreOperator (repeatable)")
    srv.add_argument("--now", help="fixed data clock, ISO 8601 (default: real time at start)")
    srv.add_argument("--session-timeout", type=float, default=900.0, help="idle expiry of logon sessions in seconds")
    srv.add_argument("--default-page-size", type=int, default=100)
    srv.add_argument("--max-page-size", type=int, default=0, help="clamp pageSize to this (0 = no limit)")
    srv.add_argument("--typo-links", action=argparse.BooleanOptionalAction, default=True,
                     help="ReplicaJobSession Down link uses 'repicaTaskSessions' (default on)")
    srv.add_argument("--cdp-task-href-quirk", action=argparse.BooleanOptionalAction, default=False,
                     help="CdpReplicaTaskSession entity Href under /replicaTaskSessions/ (default off)")
    srv.add_argument("--impersonate", choices=("em", "vbr", "html"), default="em")
    srv.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=False, help="request log on stderr")
    grp = srv.add_argument_group("faults (apply to /api requests only)")
    grp.add_argument("--fault-seed", type=int, default=0)
    grp.add_argument("--faults", help="JSON object with fault settings (same keys as POST /admin/faults)")
    grp.add_argument("--latency-ms", type=int, default=0, help="fixed cost per request")
    grp.add_argument("--per-record-us", type=int, default=0, help="cost per record returned")
    grp.add_argument("--fault-spike-rate", type=float)
    grp.add_argument("--fault-spike-ms", type=int)
    grp.add_argument("--fault-error-rate", type=float)
    grp.add_argument("--fault-error-statuses", help="comma separated, default 500,502,503")
    grp.add_argument("--fault-fail-next", type=int)
    grp.add_argument("--fault-fail-status", type=int, default=503)
    grp.add_argument("--fault-429-rate", type=float)
    grp.add_argument("--fault-429-next", type=int)
    grp.add_argument("--fault-retry-after", type=int)
    grp.add_argument("--fault-reset-rate", type=float)
    grp.add_argument("--fault-reset-next", type=int)
    grp.add_argument("--fault-truncate-rate", type=float)
    grp.add_argument("--fault-truncate-next", type=int)
    grp.add_argument("--fault-token-expire-after", type=int, help="tokens expire after N authenticated requests")
    grp.add_argument("--max-sessions", type=int, help="cap on concurrent logon sessions (logon beyond it: 503)")
    bld = sub.add_parser("build", help="generate (or find) the cached data set and print its path")
    _add_dataset_args(bld)
    return parser


def _params(args):
    overrides = dict((k, getattr(args, k)) for k in ("vms", "days", "replica_jobs", "replica_runs_per_day", "backup_jobs",
                                                     "backup_runs_per_day", "cdp_vms", "backup_servers", "seed", "special_names",
                                                     "canary"))
    return dataset.resolve_params(args.dataset, **overrides)


def _fault_config(args):
    cfg = json.loads(args.faults) if args.faults else {}
    cfg.setdefault("latency_ms", args.latency_ms)
    cfg.setdefault("per_record_us", args.per_record_us)
    if args.fault_spike_rate is not None:
        cfg["latency_spike"] = {"rate": args.fault_spike_rate, "ms": args.fault_spike_ms or 0}
    simple = {"fault_error_rate": "error_rate", "fault_429_rate": "throttle_rate", "fault_429_next": "throttle_next",
              "fault_retry_after": "retry_after", "fault_reset_rate": "reset_rate", "fault_reset_next": "reset_next",
              "fault_truncate_rate": "truncate_rate", "fault_truncate_next": "truncate_next",
              "fault_token_expire_after": "token_expire_after", "max_sessions": "max_sessions"}
    for attr, key in simple.items():
        if getattr(args, attr) is not None:
            cfg[key] = getattr(args, attr)
    if args.fault_error_statuses:
        cfg["error_statuses"] = [int(x) for x in args.fault_error_statuses.split(",") if x.strip()]
    if args.fault_fail_next:
        cfg["fail_next"] = {"count": args.fault_fail_next, "status": args.fault_fail_status}
    return cfg


def _users(args):
    users = {args.username.lower(): (args.username, args.password, "PortalAdministrator")}
    for spec in args.user:
        # NAME:PASSWORD:ROLE -- the role is after the last colon, the name before the first one.
        name, sep1, rest = spec.partition(":")
        password, sep2, role = rest.rpartition(":")
        if not (sep1 and sep2) or role not in server.ROLES:
            raise SystemExit("--user expects NAME:PASSWORD:ROLE with ROLE in %s" % ", ".join(server.ROLES))
        users[name.lower()] = (name, password, role)
    return users


def cmd_build(args):
    params = _params(args)
    cache_dir = args.cache_dir or os.path.join(args.state_dir, "datasets")
    started = time.time()
    path, built = dataset.ensure_dataset(cache_dir, params)
    sys.stdout.write(json.dumps({"path": path, "built": built, "seconds": round(time.time() - started, 3), "params": params}) + "\n")
    return 0


def _exit_now(_signum, _frame):
    raise SystemExit(0)


def cmd_serve(args):
    # Until the server is up, SIGTERM/SIGINT unwind normally (temp files of an interrupted build are removed).
    signal.signal(signal.SIGTERM, _exit_now)
    signal.signal(signal.SIGINT, _exit_now)
    params = _params(args)
    cache_dir = args.cache_dir or os.path.join(args.state_dir, "datasets")
    started = time.time()
    path, built = dataset.ensure_dataset(cache_dir, params)
    gen_seconds = time.time() - started
    now_ms = model.parse_time(args.now) if args.now else int(time.time() * 1000)
    data = store.Store(path, now_ms)
    load_seconds = time.time() - started - gen_seconds
    cfg = server.Config(dialect=args.dialect, bom=args.bom, typo_links=args.typo_links, cdp_task_href_quirk=args.cdp_task_href_quirk,
                        default_page_size=args.default_page_size, max_page_size=args.max_page_size,
                        session_timeout=args.session_timeout, impersonate=args.impersonate, verbose=args.verbose)
    engine = faults.FaultEngine(_fault_config(args), seed=args.fault_seed)
    sim = server.Simulator(data, cfg, _users(args), engine)
    ctx = None
    ca_path = None
    if args.tls_cert != "valid" or args.tls_max_version:
        args.tls = True
    if args.tls:
        ca_path = tls.ensure_certs(args.state_dir, args.host)[0]
        cert_path, key_path = tls.variant_cert(args.state_dir, args.host, args.tls_cert)
        ctx = tls.server_context(cert_path, key_path, args.tls_max_version)
    httpd = server.EMServer((args.host, args.port), sim, ctx)
    port = httpd.server_address[1]
    host = args.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = "[%s]" % host
    cfg.base_url = "%s://%s:%d" % ("https" if args.tls else "http", host, port)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="em-simulator", daemon=True)
    thread.start()
    ready = {"url": cfg.base_url, "admin_url": cfg.base_url + "/admin", "username": args.username, "password": args.password,
             "dataset": params["name"], "params": params, "now": model.fmt_time(now_ms), "pid": os.getpid(),
             "dataset_path": path, "dataset_built": built, "generate_seconds": round(gen_seconds, 3),
             "load_seconds": round(load_seconds, 3), "digest": data.digest(), "impersonate": args.impersonate,
             "users": [{"username": u[0], "password": u[1], "role": u[2]} for u in sim.users.values()]}
    if ca_path:
        ready["ca_path"] = os.path.abspath(ca_path)
        ready["tls_cert"] = args.tls_cert
        ready["tls_max_version"] = args.tls_max_version
    sys.stdout.write(json.dumps(ready, ensure_ascii=True) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
    if args.tls and args.tls_cert != "valid":
        for leftover in (cert_path, key_path):  # the broken certificates are made per start
            if os.path.exists(leftover):
                os.unlink(leftover)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _params(args)
        if getattr(args, "now", None):
            model.parse_time(args.now)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "build":
        return cmd_build(args)
    return cmd_serve(args)
