"""The HTTP(S) server: EM API routing, authentication, content negotiation, faults, admin endpoints."""

import base64
import json
import math
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from em_simulator import faults as faults_mod
from em_simulator import filterlang, model, render, store as store_mod

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TOKEN_ERROR = "authorization header expected but not found (or found but is expired)"
API_VERSIONS = ("v1_5", "v1_6", "v1_7")
ROLES = ("PortalAdministrator", "PortalUser", "RestoreOperator")
CHILD_LISTS = {
    ("replicasessions", "replicatasksessions"): ("ReplicaTaskSession", "session_id"),
    ("replicasessions", "repicatasksessions"): ("ReplicaTaskSession", "session_id"),
    ("backupsessions", "tasksessions"): ("BackupTaskSession", "session_id"),
    ("cdpreplicasessions", "cdpreplicatasksessions"): ("CdpReplicaTaskSession", "session_id"),
    ("backupservers", "jobs"): ("Job", "server_id"),
    ("jobs", "backupsessions"): (None, "job_id"),
}

TEMPLATE_NAMES = dict((name.lower(), name) for name in (
    "sessionMngr", "logonSessions", "query", "repicaTaskSessions", "replicaTaskSessions", "taskSessions", "cdpReplicaTaskSessions",
    "jobs", "backupSessions") + tuple(t.collection for t in model.TYPES.values()))


class Config(object):
    """Run-time switches (changeable through POST /admin/config)."""

    SWITCHES = {"dialect": str, "bom": bool, "typo_links": bool, "cdp_task_href_quirk": bool, "default_page_size": int,
                "max_page_size": int, "session_timeout": float, "verbose": bool}

    def __init__(self, **kwargs):
        self.base_url = kwargs.get("base_url", "")
        self.dialect = kwargs.get("dialect", "v12")
        self.bom = kwargs.get("bom", False)
        self.typo_links = kwargs.get("typo_links", True)
        self.cdp_task_href_quirk = kwargs.get("cdp_task_href_quirk", False)
        self.default_page_size = kwargs.get("default_page_size", 100)
        self.max_page_size = kwargs.get("max_page_size", 0)
        self.session_timeout = kwargs.get("session_timeout", 900.0)
        self.impersonate = kwargs.get("impersonate", "em")
        self.verbose = kwargs.get("verbose", False)

    def as_dict(self):
        out = dict((k, getattr(self, k)) for k in self.SWITCHES)
        out["impersonate"] = self.impersonate
        out["base_url"] = self.base_url
        return out

    def update(self, values):
        for key, value in values.items():
            if key not in self.SWITCHES:
                raise ValueError("unknown config key %r" % key)
            if key == "dialect" and value not in ("v12", "v13"):
                raise ValueError("dialect must be v12 or v13")
            if self.SWITCHES[key] is bool and not isinstance(value, bool):
                raise ValueError("%s must be true or false" % key)
            if key in ("default_page_size",) and int(value) <= 0:
                raise ValueError("default_page_size must be > 0")
            setattr(self, key, self.SWITCHES[key](value))


class Session(object):
    def __init__(self, user, role, version):
        self.id = str(uuid.uuid4())
        self.token = base64.b64encode(self.id.encode("ascii")).decode("ascii")
        self.user = user
        self.role = role
        self.version = version
        self.created = time.monotonic()
        self.last = self.created
        self.requests = 0


class CapReached(Exception):
    pass


class Sessions(object):
    """Logon sessions with idle expiry."""

    def __init__(self, cfg, stats):
        self.cfg = cfg
        self.stats = stats
        self._lock = threading.Lock()
        self._by_token = {}

    def _sweep(self, now):
        dead = [t for t, s in self._by_token.items() if now - s.last > self.cfg.session_timeout]
        for token in dead:
            del self._by_token[token]
            self.stats.bump("expired_sessions")

    def create(self, user, role, version, cap):
        with self._lock:
            self._sweep(time.monotonic())
            if cap and len(self._by_token) >= cap:
                raise CapReached()
            sess = Session(user, role, version)
            self._by_token[sess.token] = sess
            return sess

    def lookup(self, token, expire_after=0):
        """Live session for a token (touching it), or None.  ``expire_after`` forces expiry after N requests."""
        with self._lock:
            now = time.monotonic()
            sess = self._by_token.get(token)
            if sess is None:
                return None
            if now - sess.last > self.cfg.session_timeout:
                del self._by_token[token]
                self.stats.bump("expired_sessions")
                return None
            sess.requests += 1
            if expire_after and sess.requests > expire_after:
                del self._by_token[token]
                self.stats.bump("expired_sessions")
                return "forced"
            sess.last = now
            return sess

    def by_id(self, session_id):
        with self._lock:
            for sess in self._by_token.values():
                if sess.id == session_id.lower():
                    return sess
            return None

    def delete(self, sess):
        with self._lock:
            if self._by_token.pop(sess.token, None) is not None:
                self.stats.bump("logoffs")
                return True
            return False

    def expire_all(self):
        with self._lock:
            count = len(self._by_token)
            self._by_token.clear()
            self.stats.bump("expired_sessions", count)
            return count

    def live(self):
        with self._lock:
            self._sweep(time.monotonic())
            return list(self._by_token.values())


class Stats(object):
    COUNTERS = ("logons", "logon_failures", "logoffs", "expired_sessions", "records_sent", "bytes_sent")

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.counters = dict((k, 0) for k in self.COUNTERS)
            self.requests = {}

    def bump(self, key, n=1):
        with self._lock:
            self.counters[key] = self.counters.get(key, 0) + n

    def request(self, template, status, records=0, nbytes=0):
        with self._lock:
            per = self.requests.setdefault(template, {})
            per[str(status)] = per.get(str(status), 0) + 1
            self.counters["records_sent"] += records
            self.counters["bytes_sent"] += nbytes

    def snapshot(self):
        with self._lock:
            out = dict(self.counters)
            out["requests"] = json.loads(json.dumps(self.requests))
            return out


class Response(object):
    """A finished answer, before faults/mutators/sending."""

    def __init__(self, status, body=b"", content_type=None, headers=None, records=0):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers or [])
        self.records = records
        self.stream = None  # an iterable of body chunks sent instead of ``body`` (the "huge" mutators)
        self.stream_length = None  # the Content-Length declared for ``stream``; None: close-delimited


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.headers = headers or []


class Simulator(object):
    """Everything shared by the request handlers."""

    def __init__(self, store, cfg, users, fault_engine):
        self.store = store
        self.cfg = cfg
        self.users = users  # lower-case user name -> (user name, password, role)
        self.faults = fault_engine
        self.stats = Stats()
        self.sessions = Sessions(cfg, self.stats)
        self.renderer = render.Renderer(cfg)
        self.started = time.time()

    def serializer(self, accept):
        if "application/json" in (accept or "").lower():
            return render.Json(self.cfg.dialect, self.cfg.bom)
        return render.Xml()


class EMServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sim, ssl_context=None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sim = sim
        self.ssl_context = ssl_context
        ThreadingHTTPServer.__init__(self, address, Handler)

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            request.settimeout(30)
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
            request.settimeout(None)
        ThreadingHTTPServer.finish_request(self, request, client_address)

    def handle_error(self, request, client_address):
        if self.sim.cfg.verbose:
            traceback.print_exc(file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120
    # Per-request state, set at the start of every request.
    body = b""
    query_pairs = ()
    query = None
    ser = None
    template = ""

    def version_string(self):
        return "Microsoft-HTTPAPI/2.0"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.sim.cfg.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _read_body(self):
        """Read (and keep, up to 1 MiB) the request body so keep-alive streams stay in sync."""
        length = self.headers.get("Content-Length")
        kept = []
        try:
            remaining = int(length or 0)
        except ValueError:
            remaining = 0
        total = 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
            if total < 1 << 20:
                kept.append(chunk)
            total += len(chunk)
        return b"".join(kept)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_HEAD(self):
        self._handle("HEAD")

    def _handle(self, method):
        sim = self.server.sim
        self.body = self._read_body()
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        self.query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        self.query = {}
        for key, value in self.query_pairs:
            self.query.setdefault(key.lower(), value)
        self.ser = sim.serializer(self.headers.get("Accept"))
        self.template = "%s (unmatched)" % method
        low = path.lower()
        if low == "/admin" or low.startswith("/admin/"):
            self._send(self._admin(method, low), None, method, count=False)
            return
        if sim.cfg.impersonate != "em":
            self._send(self._impersonate(method, low), None, method)
            return
        if not (low == "/api" or low.startswith("/api/")):
            self.template = "%s (not api)" % method
            resp = self._error(404, "The requested resource '%s' was not found." % path)
            self._send(resp, None, method)
            return
        plan = sim.faults.plan(low)
        if plan.delay_ms:
            time.sleep(plan.delay_ms / 1000.0)
        if plan.reset:
            self.template = self._template_for(method, low)
            sim.stats.request(self.template, "reset")
            self._reset()
            return
        if plan.status is not None:
            self.template = self._template_for(method, low)
            message = faults_mod.ERROR_MESSAGES.get(plan.status, "Injected fault.")
            headers = [("Retry-After", str(plan.retry_after))] if plan.retry_after is not None else []
            resp = self._error(plan.status, message, headers)
        else:
            try:
                resp = self._api(method, path, low)
            except ApiError as exc:
                resp = self._error(exc.status, exc.message, exc.headers)
            except filterlang.FilterError as exc:
                resp = self._error(400, str(exc))
            except Exception as exc:  # pylint: disable=broad-except
                traceback.print_exc(file=sys.stderr)
                resp = self._error(500, "Internal simulator error: %s" % exc)
        per_record = sim.faults.value("per_record_us")
        if per_record and resp.records:
            time.sleep(per_record * resp.records / 1e6)
        if plan.mutators:
            resp = faults_mod.apply_mutators(plan.mutators, resp)
        self._send(resp, plan, method)

    def _reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _send_stream(self, resp):
        """Send a streamed body; stop quietly when the client hangs up (what a client with a size cap does)."""
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        if resp.stream_length is not None:
            self.send_header("Content-Length", str(resp.stream_length))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            for chunk in resp.stream:
                self.wfile.write(chunk)
                sent += len(chunk)
            self.wfile.flush()
        except OSError:
            pass
        return sent

    def _send(self, resp, plan, method, count=True):
        sim = self.server.sim
        if getattr(resp, "stream", None) is not None and method != "HEAD":
            sent = self._send_stream(resp)
            if count:
                sim.stats.request(self.template, resp.status, resp.records, sent)
            return
        body = resp.body if method != "HEAD" else b""
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers:
            self.send_header(key, value)
        if resp.status != 204:
            self.send_header("Content-Length", str(len(resp.body)))
        truncate = plan is not None and plan.truncate and len(body) > 0
        self.end_headers()
        sent = body
        if truncate:
            sent = body[:len(body) // 2]
        try:
            if sent:
                self.wfile.write(sent)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        if truncate:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if count:
            sim.stats.request(self.template, resp.status, resp.records, len(sent))

    def _error(self, status, message, headers=None):
        return Response(status, self.ser.error(status, message), self.ser.content_type, headers)

    def _ok(self, body, status=200, headers=None, records=0):
        return Response(status, body, self.ser.content_type, headers, records)

    @staticmethod
    def _template_for(method, low):
        """Stats key: "GET /api/replicaSessions/{id}/repicaTaskSessions"; unknown segments become {unknown}."""
        segs = [s for s in low.split("/") if s]
        if len(segs) <= 1:
            return "%s /api/" % method
        out = ["/api"]
        for i, seg in enumerate(segs[1:4]):
            out.append("{id}" if i == 1 else TEMPLATE_NAMES.get(seg, "{unknown}"))
        return "%s %s" % (method, "/".join(out))

    # -- EM API ------------------------------------------------------------------------------------------------
    def _api(self, method, path, low):
        sim = self.server.sim
        segs = [s for s in path.split("/") if s]
        lsegs = [s.lower() for s in segs]
        self.template = self._template_for(method, low)
        if len(lsegs) == 1:
            self._allow(method, "GET")
            return self._ok(self.ser.enterprise_manager(sim.cfg.base_url + "/api"))
        if lsegs[1] == "sessionmngr" and len(lsegs) == 2:
            self._allow(method, "POST")
            return self._logon()
        sess = self._authenticate()
        head = lsegs[1]
        if head == "logonsessions":
            return self._logon_sessions(method, segs, sess)
        if head == "query" and len(lsegs) == 2:
            self._allow(method, "GET")
            self._require_role(sess)
            return self._query()
        tspec = model.COLLECTIONS.get(head)
        if tspec is None or len(lsegs) > 4:
            raise ApiError(404, "The requested resource '%s' was not found." % path)
        self._allow(method, "GET")
        self._require_role(sess)
        if len(lsegs) == 2:
            return self._collection(tspec)
        guid = segs[2]
        if not GUID_RE.match(guid):
            raise ApiError(400, "Invalid object ID '%s': a GUID is expected." % guid)
        if len(lsegs) == 3:
            return self._by_id(tspec, guid)
        child = CHILD_LISTS.get((head, lsegs[3]))
        if child is None:
            raise ApiError(404, "The requested resource '%s' was not found." % path)
        return self._child_list(tspec, guid, child)

    def _allow(self, method, allowed):
        if method != allowed:
            raise ApiError(405, "The HTTP method '%s' is not allowed for this resource." % method, [("Allow", allowed)])

    def _require_role(self, sess):
        if sess.role == "RestoreOperator":
            raise ApiError(403, "Access denied.")

    def _authenticate(self):
        sim = self.server.sim
        token = None
        cookie = self.headers.get("Cookie")
        if cookie:
            for part in cookie.split(";"):
                name, _sep, value = part.strip().partition("=")
                if name.strip().lower() == "x-restsvcsessionid" and value.strip():
                    token = value.strip()
        if token is None:
            token = (self.headers.get("X-RestSvcSessionId") or "").strip() or None
        sess = sim.sessions.lookup(token, sim.faults.value("token_expire_after")) if token else None
        if sess == "forced":
            sim.faults.count("token_expired")
            sess = None
        if sess is None:
            raise ApiError(401, TOKEN_ERROR, [("WWW-Authenticate", "Basic Realm=RestSvc")])
        return sess

    def _logon(self):
        sim = self.server.sim
        version = self.query.get("v", "latest")
        if version.lower() not in ("latest",) + API_VERSIONS:
            raise ApiError(400, "Unsupported API version '%s'. Supported versions: latest, %s." % (version, ", ".join(API_VERSIONS)))
        challenge = [("WWW-Authenticate", "Basic Realm=RestSvc")]
        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("basic "):
            sim.stats.bump("logon_failures")
            raise ApiError(401, "Authorization header expected but not found.", challenge)
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
        except ValueError:
            sim.stats.bump("logon_failures")
            raise ApiError(401, "Malformed Basic authorization header.", challenge) from None
        user, _sep, password = text.partition(":")
        entry = sim.users.get(user.lower())
        if entry is None or entry[1] != password:
            sim.stats.bump("logon_failures")
            raise ApiError(401, "Login failed: the user name or password is incorrect.", challenge)
        try:
            sess = sim.sessions.create(entry[0], entry[2], "v1_7" if version.lower() == "latest" else version.lower(),
                                       sim.faults.value("max_sessions"))
        except CapReached:
            sim.faults.count("logon_cap")
            raise ApiError(503, "Cannot create a logon session: the maximum number of concurrent sessions (%d) has been reached."
                           % sim.faults.value("max_sessions")) from None
        sim.stats.bump("logons")
        headers = [("X-RestSvcSessionId", sess.token), ("Set-Cookie", "X-RestSvcSessionId=%s; Path=/api;" % sess.token),
                   ("Location", "%s/api/logonSessions/%s" % (sim.cfg.base_url, sess.id))]
        return self._ok(self.ser.logon_session(self._logon_desc(sess)), 201, headers)

    def _logon_desc(self, sess):
        api = self.server.sim.cfg.base_url + "/api"
        href = "%s/logonSessions/%s" % (api, sess.id)
        links = [render.link("Up", api + "/", None, "EnterpriseManager")]
        for coll, rtype in (("backupServers", "BackupServerReferenceList"), ("jobs", "JobReferenceList"),
                            ("backupSessions", "BackupJobSessionReferenceList"), ("replicaSessions", "ReplicaJobSessionReferenceList"),
                            ("backupTaskSessions", "BackupTaskSessionReferenceList"),
                            ("replicaTaskSessions", "ReplicaTaskSessionReferenceList")):
            links.append(render.link("Down", "%s/%s" % (api, coll), None, rtype))
        for coll, rtype in (("backupServers", "BackupServerList"), ("jobs", "JobList"), ("backupSessions", "BackupJobSessionList"),
                            ("replicaSessions", "ReplicaJobSessionList"), ("backupTaskSessions", "BackupTaskSessionList"),
                            ("replicaTaskSessions", "ReplicaTaskSessionList")):
            links.append(render.link("Down", "%s/%s?format=Entity" % (api, coll), None, rtype))
        links.append(render.link("Delete", href))
        return {"href": href, "links": links, "user": sess.user, "id": sess.id}

    def _logon_sessions(self, method, segs, sess):
        sim = self.server.sim
        if len(segs) == 2:
            self._allow(method, "GET")
            mine = [s for s in sim.sessions.live() if s.user == sess.user]
            return self._ok(self.ser.logon_sessions([self._logon_desc(s) for s in mine]))
        if len(segs) != 3:
            raise ApiError(404, "The requested resource was not found.")
        if method not in ("GET", "DELETE"):
            raise ApiError(405, "The HTTP method '%s' is not allowed for this resource." % method, [("Allow", "GET, DELETE")])
        target = sim.sessions.by_id(segs[2])
        if target is None or target.user != sess.user:
            raise ApiError(404, "Logon session '%s' was not found." % segs[2])
        if method == "GET":
            return self._ok(self.ser.logon_session(self._logon_desc(target)))
        sim.sessions.delete(target)
        return Response(204)

    # -- data endpoints ----------------------------------------------------------------------------------------
    def _format(self, allowed_entity=("entity", "entities")):
        value = self.query.get("format")
        if value is None or value.lower() in ("references", "refs", "reference"):
            return False
        if value.lower() in allowed_entity:
            return True
        raise ApiError(400, "Invalid format '%s'. Use Entity/Entities or References." % value)

    def _page_param(self, name, default):
        raw = self.query.get(name.lower())
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, "Invalid %s '%s': a positive integer is expected." % (name, raw)) from None
        if value <= 0:
            raise ApiError(400, "Invalid %s '%s': a positive integer is expected." % (name, raw))
        return value

    def _sort(self, tspec):
        asc, desc = self.query.get("sortasc"), self.query.get("sortdesc")
        if asc is not None and desc is not None:
            raise ApiError(400, "Only one of sortAsc and sortDesc may be given.")
        name = asc if asc is not None else desc
        if name is None:
            return None, False
        spec = tspec.field(name.strip())
        if spec is None:
            raise ApiError(400, "Unknown sort field '%s' for query type '%s'." % (name, tspec.name))
        return spec, desc is not None

    def _query(self):
        sim = self.server.sim
        tname = self.query.get("type")
        if not tname:
            raise ApiError(400, "Query parameter 'type' is required.")
        tspec = model.get_type(tname)
        if tspec is None:
            raise ApiError(400, "Unknown query type '%s'. Types served by this simulator: %s." % (tname, ", ".join(
                sorted(t.name for t in model.TYPES.values()))))
        entities = self._format()
        bound = filterlang.parse_bound(self.query.get("filter"), tspec)
        sort, desc = self._sort(tspec)
        size = self._page_param("pageSize", sim.cfg.default_page_size)
        if sim.cfg.max_page_size and size > sim.cfg.max_page_size:
            size = sim.cfg.max_page_size
        page = self._page_param("page", 1)
        total, recs = sim.store.query(tspec, bound, sort, desc, limit=size, offset=(page - 1) * size)
        pages = max(1, int(math.ceil(total / float(size))))
        paging = (page, size, pages, sim.renderer.paging_links(self.query_pairs, page, size, pages))
        if entities:
            body = self.ser.query_result(None, [sim.renderer.entity(r) for r in recs], tspec.plural, paging)
        else:
            body = self.ser.query_result([sim.renderer.ref(r) for r in recs], None, tspec.plural, paging)
        return self._ok(body, records=len(recs))

    def _collection(self, tspec):
        sim = self.server.sim
        entities = self._format()
        window = sim.store.window_clause(tspec)
        _total, recs = sim.store.query(tspec, extra=[window] if window else [], count=False)
        return self._records(tspec, recs, entities)

    def _records(self, tspec, recs, entities):
        sim = self.server.sim
        if entities:
            body = self.ser.collection(tspec.plural, [sim.renderer.entity(r) for r in recs])
        else:
            body = self.ser.collection("EntityReferences", [sim.renderer.ref(r) for r in recs])
        return self._ok(body, records=len(recs))

    def _by_id(self, tspec, guid):
        sim = self.server.sim
        entities = self._format()
        rec = sim.store.by_guid(tspec, guid)
        if rec is None:
            raise ApiError(404, "%s with ID '%s' was not found." % (tspec.name, guid))
        desc = sim.renderer.entity(rec) if entities else sim.renderer.ref(rec, tag="EntityRef")
        return self._ok(self.ser.single(desc), records=1)

    def _child_list(self, tspec, guid, child):
        sim = self.server.sim
        entities = self._format()
        parent = sim.store.by_guid(tspec, guid)
        if parent is None:
            raise ApiError(404, "%s with ID '%s' was not found." % (tspec.name, guid))
        child_type, column = child
        extra = [("%s = ?" % column, [parent["_id"]])]
        if child_type is None:  # /jobs/{id}/backupSessions: the sessions of that job, 30-day window
            child_type = "ReplicaJobSession" if parent["JobType"] == "Replica" else "BackupJobSession"
            extra.append(sim.store.window_clause(model.get_type(child_type)))
        ctype = model.get_type(child_type)
        _total, recs = sim.store.query(ctype, extra=extra, count=False)
        return self._records(ctype, recs, entities)

    # -- admin ------------------------------------------------------------------------------------------------
    def _json(self, obj, status=200):
        return Response(status, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"), "application/json; charset=utf-8")

    def _admin(self, method, low):
        sim = self.server.sim
        self.template = "%s %s" % (method, low)
        try:
            return self._admin_route(method, low, sim)
        except (ValueError, KeyError, TypeError, filterlang.FilterError) as exc:
            return self._json({"error": str(exc)}, 400)

    def _read_json(self):
        if not self.body.strip():
            return {}
        value = json.loads(self.body.decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError("a JSON object is expected")
        return value

    def _admin_route(self, method, low, sim):
        if low in ("/admin", "/admin/"):
            return self._json({"dataset": sim.store.params, "digest": sim.store.digest(), "now": model.fmt_time(sim.store.now_ms),
                               "config": sim.cfg.as_dict(), "counts": sim.store.counts})
        if low == "/admin/stats" and method == "GET":
            out = sim.stats.snapshot()
            out["open_sessions"] = len(sim.sessions.live())
            out["faults_injected"] = dict(sim.faults.injected)
            return self._json(out)
        if low == "/admin/stats/reset" and method == "POST":
            sim.stats.reset()
            sim.faults.reset_counts()
            return self._json({"ok": True})
        if low == "/admin/faults":
            if method == "GET":
                return self._json(sim.faults.get())
            if method == "POST":
                return self._json(sim.faults.set(self._read_json()))
            if method == "PATCH":
                return self._json(sim.faults.set(self._read_json(), replace=False))
            if method == "DELETE":
                return self._json(sim.faults.clear())
        if low == "/admin/config":
            if method == "POST":
                sim.cfg.update(self._read_json())
            return self._json(sim.cfg.as_dict())
        if low == "/admin/sessions/expire" and method == "POST":
            return self._json({"expired": sim.sessions.expire_all()})
        if low == "/admin/truth/counts":
            out = dict(sim.store.counts)
            out["digest"] = sim.store.digest()
            return self._json(out)
        if low == "/admin/truth/query":
            return self._truth_query(sim)
        if low == "/admin/truth/latest_tasks":
            kind = self.query.get("kind", "replica")
            if kind not in ("replica", "backup", "cdp"):
                raise ValueError("kind must be replica, backup or cdp")
            since = self.query.get("since")
            until = self.query.get("until")
            recs = sim.store.latest_tasks(kind, model.parse_time(since) if since else None, model.parse_time(until) if until else None)
            return self._json([store_mod.public(r) for r in recs])
        return self._json({"error": "unknown admin endpoint %s %s" % (method, low)}, 404)

    def _truth_query(self, sim):
        tspec = model.get_type(self.query.get("type"))
        if tspec is None:
            raise ValueError("unknown or missing type")
        bound = filterlang.parse_bound(self.query.get("filter"), tspec)
        asc, desc = self.query.get("sortasc"), self.query.get("sortdesc")
        recs = [r for r in sim.store.iter_records(tspec) if filterlang.evaluate(bound, r)]
        name = asc if asc is not None else desc
        if name:
            spec = tspec.field(name)
            if spec is None:
                raise ValueError("unknown sort field %s" % name)
            recs.sort(key=lambda r: r["_id"], reverse=desc is not None)
            recs.sort(key=lambda r: _sort_key(spec, r), reverse=desc is not None)
        return self._json([store_mod.public(r) for r in recs])

    # -- impersonation -----------------------------------------------------------------------------------------
    def _impersonate(self, method, low):
        mode = self.server.sim.cfg.impersonate
        self.template = "%s (impersonate %s)" % (method, mode)
        if mode == "html":
            page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in</title></head><body>"
                    "<h1>Welcome</h1><form method=\"post\" action=\"/login\"><label>User name <input name=\"username\"></label>"
                    "<label>Password <input type=\"password\" name=\"password\"></label><button>Sign in</button></form>"
                    "</body></html>\n")
            return Response(200, page.encode("utf-8"), "text/html; charset=utf-8")
        if low.startswith("/api/oauth2/token"):
            if method != "POST":
                return self._vbr_json(405, {"errorCode": "MethodNotAllowed", "message": "Method not allowed.", "resourceId": None})
            return self._vbr_json(400, {"error": "invalid_grant", "error_description": "The user name or password is incorrect."})
        if low.startswith("/api/v1/") or low == "/api/v1":
            resp = self._vbr_json(401, {"errorCode": "Unauthorized", "message": "Authorization has been denied for this request.",
                                        "resourceId": None})
            resp.headers.append(("WWW-Authenticate", "Bearer"))
            return resp
        return self._vbr_json(404, {"errorCode": "NotFound", "message": "The requested resource was not found.", "resourceId": None})

    @staticmethod
    def _vbr_json(status, obj):
        return Response(status, json.dumps(obj).encode("utf-8"), "application/json; charset=utf-8")


def _sort_key(spec, rec):
    kind = spec.inner_kind if spec.kind == "fk" else spec.kind
    if kind == "date":
        value = rec.get("_ms_" + spec.key)
        return (value is not None, value or 0)
    value = rec.get(spec.key)
    if kind == "enum":
        return (True, spec.enum.index(value))
    if kind in ("str", "uid"):
        return (value is not None, filterlang.fold(value or ""))
    return (value is not None, value or 0)
