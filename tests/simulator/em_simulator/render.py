"""Rendering of canonical records into EM XML and JSON (v12 PascalCase / v13 camelCase).

Every document is first described by plain Python structures (an entity description: tag, attributes, links,
fields), then serialised by ``Xml`` or ``Json``.  Both serialisers produce bytes; the server never cares which.
"""

import json
from urllib.parse import quote

from em_simulator import model

XML_PROLOG = '<?xml version="1.0" encoding="utf-8"?>\n'
ROOT_NS = ('xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"', 'xmlns="%s"' % model.NS)
BOM = b"\xef\xbb\xbf"
VERSIONS = ("v1_5", "v1_6", "v1_7")

# Field modes: "keep" always rendered; "omit" left out of XML when None/empty; "empty" rendered as <X /> when empty.
TASK_FIELDS = (("JobSessionUid", "keep"), ("CreationTimeUTC", "keep"), ("EndTimeUTC", "omit"), ("State", "keep"), ("Result", "keep"),
               ("Reason", "empty"), ("TotalSize", "keep"))
CDP_TASK_FIELDS = (("PolicySessionUid", "keep"), ("CreationTimeUTC", "keep"), ("EndTimeUTC", "omit"), ("State", "keep"),
                   ("Result", "keep"), ("Reason", "omit"), ("TotalSize", "keep"))
JOB_SESSION_FIELDS = (("JobUid", "keep"), ("JobName", "keep"), ("JobType", "keep"), ("CreationTimeUTC", "keep"), ("EndTimeUTC", "omit"),
                      ("State", "keep"), ("Result", "keep"), ("Progress", "keep"), ("FailureMessage", "omit"), ("IsRetry", "keep"))
CDP_SESSION_FIELDS = (("PolicyUid", "keep"), ("PolicyName", "keep"), ("PolicyType", "keep"), ("CreationTimeUTC", "keep"),
                      ("EndTimeUTC", "omit"), ("State", "keep"), ("Result", "keep"), ("Progress", "keep"), ("FailureMessage", "empty"),
                      ("IsRetry", "keep"))
SERVER_FIELDS = (("Description", "keep"), ("Port", "keep"), ("Version", "keep"))
JOB_FIELDS = (("JobType", "keep"), ("Platform", "keep"), ("Description", "keep"), ("ScheduleConfigured", "keep"),
              ("ScheduleEnabled", "keep"), ("NextRun", "omit"))
FIELDS = {"ReplicaTaskSession": TASK_FIELDS, "BackupTaskSession": TASK_FIELDS + (("VmUid", "keep"),),
          "CdpReplicaTaskSession": CDP_TASK_FIELDS, "ReplicaJobSession": JOB_SESSION_FIELDS, "BackupJobSession": JOB_SESSION_FIELDS,
          "CdpReplicaSession": CDP_SESSION_FIELDS, "BackupServer": SERVER_FIELDS, "Job": JOB_FIELDS}
SESSION_PARENT = {"ReplicaTaskSession": ("ReplicaJobSessionReference", "replicaSessions"),
                  "BackupTaskSession": ("BackupJobSessionReference", "backupSessions"),
                  "CdpReplicaTaskSession": ("CdpReplicaSessionReference", "cdpReplicaSessions")}


def esc_attr(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def esc_text(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(rel, href, name=None, ltype=None):
    return (rel, href, name, ltype)


def camel(key):
    """v13 casing: first letter lowered; an all-caps key (``UID``) becomes all lower case (UNCONFIRMED, see README)."""
    if key.isupper():
        return key.lower()
    return key[:1].lower() + key[1:]


class Renderer(object):
    """Builds entity descriptions from canonical records; ``cfg`` supplies base_url and quirk switches at call time."""

    def __init__(self, cfg):
        self.cfg = cfg

    @property
    def api(self):
        return self.cfg.base_url + "/api"

    # -- links --------------------------------------------------------------------------------------------------
    def self_href(self, tname, rec, entity):
        tspec = model.get_type(tname)
        coll = tspec.collection
        if entity and tname == "CdpReplicaTaskSession" and self.cfg.cdp_task_href_quirk:
            coll = "replicaTaskSessions"
        href = "%s/%s/%s" % (self.api, coll, rec["_guid"])
        return href + "?format=Entity" if entity else href

    def links(self, tname, rec, entity):
        api = self.api
        guid = rec["_guid"]
        tspec = model.get_type(tname)
        own = "%s/%s/%s" % (api, tspec.collection, guid)
        if entity:
            alternate = link("Alternate", own, rec["Name"], tname + "Reference")
        else:
            alternate = link("Alternate", own + "?format=Entity", rec["Name"], tname)
        out = []
        if "_server_guid" in rec and tname != "BackupServer":
            out.append(link("Up", "%s/backupServers/%s" % (api, rec["_server_guid"]), rec["BackupServerName"], "BackupServerReference"))
        if tname in SESSION_PARENT:
            ptype, pcoll = SESSION_PARENT[tname]
            out.append(link("Up", "%s/%s/%s" % (api, pcoll, rec["_session_guid"]), rec["_session_name"], ptype))
            out.append(alternate)
            if rec.get("_point"):
                pguid, pname = rec["_point"]
                if tname == "BackupTaskSession":
                    out.append(link("Related", "%s/vmRestorePoints/%s?format=Entity" % (api, pguid), pname, "VmRestorePoint"))
                else:
                    out.append(link("Related", "%s/vmReplicaPoints/%s?format=Entity" % (api, pguid), pname, "VmReplicaPoint"))
        elif tname in ("ReplicaJobSession", "BackupJobSession"):
            out.append(link("Up", "%s/jobs/%s" % (api, rec["_job_guid"]), rec["JobName"], "JobReference"))
            out.append(alternate)
            if tname == "ReplicaJobSession":
                child = "repicaTaskSessions" if self.cfg.typo_links else "replicaTaskSessions"
                out.append(link("Down", "%s/%s" % (own, child), None, "ReplicaTaskSessionReferenceList"))
            else:
                out.append(link("Down", own + "/taskSessions", None, "BackupTaskSessionReferenceList"))
                if entity:
                    out.append(link("Stop", own + "?action=stop"))
        elif tname == "CdpReplicaSession":
            out.append(link("Up", "%s/cdpPolicies/%s" % (api, rec["_job_guid"]), rec["PolicyName"], "CdpPolicyReference"))
            out.append(alternate)
            out.append(link("Down", own + "/cdpReplicaTaskSessions", None, "CdpReplicaTaskSessionReferenceList"))
        elif tname == "BackupServer":
            out.append(alternate)
            out.append(link("Down", own + "/jobs", None, "JobReferenceList"))
        elif tname == "Job":
            out.append(alternate)
            out.append(link("Down", own + "/backupSessions", None, "BackupJobSessionReferenceList"))
        return out

    # -- descriptions -------------------------------------------------------------------------------------------
    def entity(self, rec):
        tname = rec["_type"]
        attrs = [("Href", self.self_href(tname, rec, True)), ("Type", tname), ("Name", rec["Name"]), ("UID", rec["UID"])]
        if "VmDisplayName" in rec:
            attrs.append(("VmDisplayName", rec["VmDisplayName"]))
        fields = [(name, rec.get(name), mode) for name, mode in FIELDS[tname]]
        return (tname, attrs, self.links(tname, rec, True), fields)

    def ref(self, rec, tag="Ref"):
        tname = rec["_type"]
        attrs = [("UID", rec["UID"]), ("Name", rec["Name"]), ("Href", self.self_href(tname, rec, False)), ("Type", tname + "Reference")]
        return (tag, attrs, self.links(tname, rec, False), [])

    def paging_links(self, query_pairs, page, page_size, pages):
        """First/Previous/Next/Last links: the original parameters, then ``pageSize=n&page=k``."""
        kept = []
        for key, value in query_pairs:
            if key.lower() in ("pagesize", "page"):
                continue
            kept.append("%s=%s" % (key, encode_param(value) if key.lower() == "filter" else encode_value(value)))
        prefix = self.api + "/query?" + "&".join(kept) + ("&" if kept else "")

        def href(k):
            return "%spageSize=%d&page=%d" % (prefix, page_size, k)
        out = [link("First", href(1))]
        if page > 1:
            out.append(link("Previous", href(min(page - 1, max(pages, 1)))))
        if page < pages:
            out.append(link("Next", href(page + 1)))
        out.append(link("Last", href(max(pages, 1))))
        return out


def encode_value(value):
    return quote(value, safe="")


def encode_param(value):
    """Server-side encoding of the filter in PagingInfo links: operators, quotes, colons... percent-encoded, ';' kept."""
    return quote(value, safe=";")


class Xml(object):
    """XML serialiser."""

    content_type = "application/xml; charset=utf-8"

    @staticmethod
    def _links(out, links):
        if not links:
            out.append("<Links />")
            return
        out.append("<Links>")
        for rel, href, name, ltype in links:
            out.append('<Link Href="%s"' % esc_attr(href))
            if name is not None:
                out.append(' Name="%s"' % esc_attr(name))
            if ltype is not None:
                out.append(' Type="%s"' % esc_attr(ltype))
            out.append(' Rel="%s" />' % rel)
        out.append("</Links>")

    def _node(self, out, desc, root=False):
        tag, attrs, links, fields = desc
        out.append("<" + tag)
        if root:
            out.append(" " + ROOT_NS[0])
        for key, value in attrs:
            out.append(' %s="%s"' % (key, esc_attr(value)))
        if root:
            out.append(" " + ROOT_NS[1])
        out.append(">")
        self._links(out, links)
        for name, value, mode in fields:
            if value is None or value == "":
                if mode == "omit":
                    continue
                if mode == "empty" or value == "":
                    out.append("<%s />" % name)
                    continue
                continue
            if value is True or value is False:
                value = "true" if value else "false"
            out.append("<%s>%s</%s>" % (name, esc_text(value), name))
        out.append("</%s>" % tag)

    def _root_open(self, tag, attrs=()):
        text = "<%s %s" % (tag, ROOT_NS[0])
        for key, value in attrs:
            text += ' %s="%s"' % (key, esc_attr(value))
        return text + " " + ROOT_NS[1] + ">"

    def single(self, desc):
        out = [XML_PROLOG]
        self._node(out, desc, root=True)
        return "".join(out).encode("utf-8")

    def collection(self, root, descs):
        out = [XML_PROLOG]
        if not descs:
            out.append(self._root_open(root)[:-1] + " />")
            return "".join(out).encode("utf-8")
        out.append(self._root_open(root))
        for desc in descs:
            self._node(out, desc)
        out.append("</%s>" % root)
        return "".join(out).encode("utf-8")

    def query_result(self, refs, entities, plural, paging):
        out = [XML_PROLOG, self._root_open("QueryResult")]
        if refs is not None:
            if refs:
                out.append("<Refs>")
                for desc in refs:
                    self._node(out, desc)
                out.append("</Refs>")
            else:
                out.append("<Refs />")
        else:
            out.append("<Entities>")
            if entities:
                out.append("<%s>" % plural)
                for desc in entities:
                    self._node(out, desc)
                out.append("</%s>" % plural)
            else:
                out.append("<%s />" % plural)
            out.append("</Entities>")
        page, size, pages, links = paging
        out.append('<PagingInfo PageNum="%d" PageSize="%d" PagesCount="%d">' % (page, size, pages))
        self._links(out, links)
        out.append("</PagingInfo></QueryResult>")
        return "".join(out).encode("utf-8")

    def error(self, status, message):
        return ("%s<Error %s Message=\"%s\" StatusCode=\"%d\" %s><FirstChanceExceptionMessage>%s</FirstChanceExceptionMessage></Error>"
                % (XML_PROLOG, ROOT_NS[0], esc_attr(message), status, ROOT_NS[1], esc_text(message))).encode("utf-8")

    def enterprise_manager(self, api):
        out = [XML_PROLOG, self._root_open("EnterpriseManager", [("Href", api + "/"), ("Type", "EnterpriseManager")])]
        self._links(out, [link("Down", api + "/logonSessions", None, "LogonSessionList"),
                          link("Create", api + "/sessionMngr/?v=latest", None, "LogonSession")])
        out.append("<SupportedVersions>")
        for name in VERSIONS:
            out.append('<SupportedVersion Name="%s">' % name)
            self._links(out, [link("Create", "%s/sessionMngr/?v=%s" % (api, name), None, "LogonSession")])
            out.append("</SupportedVersion>")
        out.append("</SupportedVersions></EnterpriseManager>")
        return "".join(out).encode("utf-8")

    def _logon_node(self, out, sess, root):
        tag = "LogonSession"
        attrs = [("Href", sess["href"]), ("Type", "LogonSession")]
        out.append(self._root_open(tag, attrs) if root else '<LogonSession Href="%s" Type="LogonSession">' % esc_attr(sess["href"]))
        self._links(out, sess["links"])
        out.append("<UserName>%s</UserName><SessionId>%s</SessionId></LogonSession>" % (esc_text(sess["user"]), sess["id"]))

    def logon_session(self, sess):
        out = [XML_PROLOG]
        self._logon_node(out, sess, True)
        return "".join(out).encode("utf-8")

    def logon_sessions(self, sessions):
        out = [XML_PROLOG, self._root_open("LogonSessions")]
        for sess in sessions:
            self._logon_node(out, sess, False)
        out.append("</LogonSessions>")
        return "".join(out).encode("utf-8")


class _Keys(dict):
    """Key spelling of a JSON dialect: identity for v12, camelCase for v13 (memoised)."""

    def __init__(self, dialect):
        dict.__init__(self)
        self.camel = dialect == "v13"

    def __missing__(self, key):
        value = camel(key) if self.camel else key
        self[key] = value
        return value


class Json(object):
    """JSON serialiser; ``dialect`` v12 (PascalCase) or v13 (camelCase); optional UTF-8 BOM.

    Keys are spelled through ``self.k`` while the document is built, so v13 costs no extra pass.
    """

    content_type = "application/json; charset=utf-8"

    def __init__(self, dialect="v12", bom=False):
        self.dialect = dialect
        self.bom = bom
        self.k = _Keys(dialect)

    def _dump(self, obj):
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return BOM + data if self.bom else data

    def _links(self, links):
        if links is None:
            return None
        k = self.k
        rel_k, href_k, name_k, type_k = k["Rel"], k["Href"], k["Name"], k["Type"]
        return [{rel_k: rel, href_k: href, name_k: name, type_k: ltype} for rel, href, name, ltype in links]

    def _obj(self, desc):
        k = self.k
        tag, attrs, links, fields = desc
        attr = dict(attrs)
        out = {}
        for name, value, _mode in fields:
            out[k[name]] = None if value == "" else value
        if tag == "Ref" or tag == "EntityRef":
            out[k["Links"]] = self._links(links)
            out[k["UID"]] = attr["UID"]
            out[k["Name"]] = attr["Name"]
        else:
            if "VmDisplayName" in attr:
                out[k["VmDisplayName"]] = attr["VmDisplayName"]
            out[k["Name"]] = attr["Name"]
            out[k["UID"]] = attr["UID"]
            out[k["Links"]] = self._links(links)
        out[k["Href"]] = attr["Href"]
        out[k["Type"]] = attr["Type"]
        return out

    def single(self, desc):
        return self._dump(self._obj(desc))

    def collection(self, root, descs):
        key = "Refs" if root == "EntityReferences" else root
        return self._dump({self.k[key]: [self._obj(d) for d in descs]})

    def query_result(self, refs, entities, plural, paging):
        k = self.k
        page, size, pages, links = paging
        doc = {k["Refs"]: None, k["Entities"]: None, k["Resources"]: None, k["Links"]: None,
               k["PagingInfo"]: {k["Links"]: self._links(links), k["PageNum"]: page, k["PageSize"]: size, k["PagesCount"]: pages}}
        if refs is not None:
            doc[k["Refs"]] = {k["Refs"]: [self._obj(d) for d in refs]}
        else:
            lists = dict((k[name], None) for name in model.ENTITY_LISTS)
            lists[k[plural]] = {k[plural]: [self._obj(d) for d in entities]}
            doc[k["Entities"]] = lists
        return self._dump(doc)

    def _tree(self, obj):
        """Spell the keys of a small literal document (errors, entry point, logon)."""
        if isinstance(obj, dict):
            return dict((self.k[key], self._tree(value)) for key, value in obj.items())
        if isinstance(obj, list):
            return [self._tree(value) for value in obj]
        return obj

    def error(self, status, message):
        return self._dump(self._tree({"FirstChanceExceptionMessage": message, "Message": message, "StackTrace": None, "Status": None,
                                      "StatusCode": status}))

    def enterprise_manager(self, api):
        versions = [{"Name": name, "Links": [{"Rel": "Create", "Href": "%s/sessionMngr/?v=%s" % (api, name), "Name": None,
                                              "Type": "LogonSession"}], "Href": None, "Type": None} for name in VERSIONS]
        links = [{"Rel": "Down", "Href": api + "/logonSessions", "Name": None, "Type": "LogonSessionList"},
                 {"Rel": "Create", "Href": api + "/sessionMngr/?v=latest", "Name": None, "Type": "LogonSession"}]
        return self._dump(self._tree({"SupportedVersions": {"SupportedVersions": versions}, "Links": links, "Href": api + "/",
                                      "Type": "EnterpriseManager"}))

    def _logon(self, sess):
        links = [{"Rel": rel, "Href": href, "Name": name, "Type": ltype} for rel, href, name, ltype in sess["links"]]
        return self._tree({"UserName": sess["user"], "SessionId": sess["id"], "Links": links, "Href": sess["href"], "Type": "LogonSession"})

    def logon_session(self, sess):
        return self._dump(self._logon(sess))

    def logon_sessions(self, sessions):
        return self._dump({self.k["LogonSessions"]: [self._logon(s) for s in sessions]})
