# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EM documents (XML, JSON PascalCase, JSON camelCase) into one canonical shape.

Canonical shape: plain dicts whose keys are EM's PascalCase names (``UID``,
``VmDisplayName``, ``CreationTimeUTC``), scalars left as the wire gave them, and
``Links`` always a list of ``{"Rel", "Type", "Href", "Name"}`` dicts.  XML
attributes and elements land side by side, exactly as EM's JSON does it.  Keys
this module does not know are kept, with their first letter upper-cased so that
v12 and v13 spellings meet.

XML is read by a lean reader on expat that builds this shape directly (it is the bulk of the
client's CPU); xmltodict plus :func:`canonicalize` is the reference it must equal, and reads
the rare documents the lean reader leaves to it.  The codec knows nothing about HTTP: it takes
bytes and a media type.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import traceback
from xml.parsers import expat as _expat

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError

try:
    import xmltodict
except ImportError:
    HAS_XMLTODICT = False
    XMLTODICT_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_XMLTODICT = True
    XMLTODICT_IMPORT_ERROR = None

_KNOWN_KEYS = (
    "UID", "Id", "Name", "Href", "Type", "Links", "Link", "Rel", "Ref", "Refs", "Entities", "Resources",
    "PagingInfo", "PageNum", "PageSize", "PagesCount", "QueryResult", "EntityReferences", "EntityRef",
    "JobUid", "JobName", "JobType", "CreationTimeUTC", "EndTimeUTC", "CreationTime", "EndTime", "State",
    "Result", "Progress", "FailureMessage", "IsRetry", "JobSessionUid", "Reason", "TotalSize", "VmUid",
    "VmDisplayName", "PolicyUid", "PolicyName", "PolicyType", "PolicySessionUid", "SessionId", "UserName",
    "SupportedVersions", "SupportedVersion", "EnterpriseManager", "LogonSession", "LogonSessions",
    "Message", "StatusCode", "Status", "FirstChanceExceptionMessage", "StackTrace", "Error",
    "BackupJobSession", "BackupJobSessions", "ReplicaJobSession", "ReplicaJobSessions",
    "BackupTaskSession", "BackupTaskSessions", "ReplicaTaskSession", "ReplicaTaskSessions",
    "CdpReplicaSession", "CdpReplicaSessions", "CdpReplicaTaskSession", "CdpReplicaTaskSessions",
)
_CANONICAL = dict((key.lower(), key) for key in _KNOWN_KEYS)
# Children of these XML elements are lists even when only one is present.
_XML_LIST_PARENTS = frozenset(("Links", "Refs", "EntityReferences", "SupportedVersions", "LogonSessions"))
_DOCTYPE = re.compile(br"<!DOCTYPE", re.IGNORECASE)
# Wire keys seen so far -> canonical key; bounded so that a hostile document cannot grow it without limit.
_KEY_CACHE = {}
_KEY_CACHE_LIMIT = 4096
# Keys that are their own canonical spelling and need no special treatment (see _plain_key); grows, bounded.
_PLAIN_KEYS = set(key for key in _KNOWN_KEYS if key != "Links")


def canonical_key(key):
    """Map a wire key in any casing to its canonical PascalCase spelling."""
    known = _KEY_CACHE.get(key)
    if known is not None:
        return known
    known = _CANONICAL.get(key.lower())
    if known is None:
        name = key.rsplit(":", 1)[1] if ":" in key else key  # a namespace prefix the XML parser left on
        known = name[:1].upper() + name[1:]
    if len(_KEY_CACHE) < _KEY_CACHE_LIMIT:
        _KEY_CACHE[key] = known
    return known


def _plain_key(key):
    """Whether *key* is its own canonical key and gets no special treatment (not ``Links``, not ``xmlns...``).

    Plain keys are remembered in ``_PLAIN_KEYS`` (bounded) so that whole attribute sets and link
    objects can be checked with one set comparison.
    """
    if key in _PLAIN_KEYS:
        return True
    if key == "Links" or key.startswith("xmlns") or key.startswith("@xmlns") or canonical_key(key) != key:
        return False
    if len(_PLAIN_KEYS) < _KEY_CACHE_LIMIT:
        _PLAIN_KEYS.add(key)
    return True


def _canonical_links(value):
    if isinstance(value, dict):
        inner = next(iter(value.values())) if len(value) == 1 else None
        if isinstance(inner, (list, dict)):
            value = inner  # XML <Links><Link/></Links>, or a {"link": [...]} wrapper
        if isinstance(value, dict):
            value = [value]
    links = []
    for item in value or ():
        if not isinstance(item, dict):
            continue
        if not item.keys() <= _PLAIN_KEYS:  # EM's own spelling (the usual case) needs no renaming
            item = dict((canonical_key(k), v) for k, v in item.items())
        links.append({"Rel": item.get("Rel"), "Type": item.get("Type"), "Href": item.get("Href"), "Name": item.get("Name")})
    return links


def canonicalize(value):
    """Recursively rename keys to canonical spelling and normalise ``Links``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("xmlns") or key.startswith("@xmlns"):
                continue
            name = _KEY_CACHE.get(key) or canonical_key(key)
            if name == "Links":
                out[name] = _canonical_links(item)
            elif item is None or item.__class__ is str:
                # most values are text: no call for them (this loop runs for every field of every record)
                out[name] = item
            else:
                out[name] = canonicalize(item)
        return out
    if isinstance(value, list):
        return [canonicalize(item) for item in value]
    return value


def _refuse_doctype(*_args):
    raise ValueError("DOCTYPE declarations are not accepted")


def _refuse_entities(*_args):
    raise ValueError("entities are disabled")


class _NoDoctypeExpat:
    """Expat factory for xmltodict that refuses any DOCTYPE (and so any entity or DTD trick)."""

    @staticmethod
    def ParserCreate(*args, **kwargs):  # pylint: disable=invalid-name
        parser = _expat.ParserCreate(*args, **kwargs)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        return parser


def _force_list(path, key, _value):
    parent = path[-1][0] if path else None
    if parent in _XML_LIST_PARENTS:
        return True
    return len(path) >= 2 and path[-2][0] == "Entities"


def _read_xml_reference(body):
    """``(raw root name, canonical content)`` through xmltodict and :func:`canonicalize`.

    The reference reader: it defines the canonical dict of an XML document.  :func:`_read_xml_lean`
    must give the same, and hands every document it does not model over to this one.
    """
    if not HAS_XMLTODICT:
        raise EMProtocolError("the Python library xmltodict is required to read XML answers", hint="install xmltodict or set wire_format=json")
    try:
        parsed = xmltodict.parse(body, attr_prefix="", cdata_key="#text", disable_entities=True,
                                 force_list=_force_list, expat=_NoDoctypeExpat)
    except Exception as exc:  # pylint: disable=broad-except
        raise EMProtocolError("the answer is not well-formed XML (%s)" % (exc,))
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise EMProtocolError("the XML answer has no single root element")
    root, content = next(iter(parsed.items()))
    if content is None:
        content = {}
    elif not isinstance(content, dict):
        content = {"#text": content}
    return root, canonicalize(content)


class _NotLean(Exception):
    """The document has a shape the lean reader does not reproduce (see :func:`_read_xml_lean`)."""


def _canonical_attributes(attrs):
    """Attributes of an element outside ``Links``: ``xmlns...`` dropped, every other name plain."""
    out = {}
    for key, value in attrs.items():
        if key.startswith("xmlns"):
            continue
        if not _plain_key(key):
            raise _NotLean(key)
        out[key] = value
    return out


def _read_xml_lean(body):
    """``(raw root name, canonical content)`` straight from expat, without xmltodict and :func:`canonicalize`.

    Builds what the reference reader builds - attributes and child elements side by side,
    repeated names merged into lists, the lists of ``_force_list``, text stripped and kept as
    ``#text`` next to attributes - but with canonical keys at once.  ``Links`` subtrees are built
    raw and given to :func:`_canonical_links`, as :func:`canonicalize` does.  Documents where the
    renaming would merge or replace keys (a name that is not its own canonical key, an element
    named ``xmlns...``, an attribute named ``Links``, two ``Links`` in one element, a root named
    ``Links``) raise :class:`_NotLean`; EM never sends them, and the reference reader takes them.

    Text is gathered in one list for the whole document (its ``append`` is the expat handler, no
    Python call per text node): an element's own text is what was appended since it started,
    once its children have removed theirs.
    """
    chunks = []
    stack = []  # (item, text mark, raw name, forces a list) of every open element's parent
    plain = _PLAIN_KEYS
    list_parents = _XML_LIST_PARENTS
    # State of the innermost open element; the document itself is the outermost frame.
    item = None
    mark = 0
    name = None
    forces = False  # whether this element's children are lists even when alone (see _force_list)
    raw_depth = 0  # > 0 inside a Links subtree, which is built with the wire's names
    result = []

    def start(child, attrs):
        nonlocal item, mark, name, forces, raw_depth
        stack.append((item, mark, name, forces))
        forces = child in list_parents or name == "Entities"
        name = child
        mark = len(chunks)
        if raw_depth:
            raw_depth += 1
            item = attrs or None
            return
        if child not in plain and not _plain_key(child):
            if canonical_key(child) != "Links" or len(stack) == 1:
                raise _NotLean(child)
            raw_depth = 1
            item = attrs or None
            return
        if attrs:
            item = attrs if attrs.keys() <= plain else _canonical_attributes(attrs)
        else:
            item = None

    def end(_child):
        nonlocal item, mark, name, forces, raw_depth
        value = item
        if len(chunks) > mark:
            text = "".join(chunks[mark:]).strip() or None
            del chunks[mark:]
        else:
            text = None
        key = name
        item, mark, name, forces = stack.pop()  # the parent's state: its forces decides for the text too
        if value is None:
            value = text
        elif text:
            value["#text"] = [text] if forces else text
        if not stack:
            result.append((key, value))
            return
        if raw_depth == 1:  # the Links element itself closes: into its parent under the canonical key
            raw_depth = 0
            if item is None:
                item = {}
            elif "Links" in item:
                raise _NotLean(key)
            item["Links"] = _canonical_links([value] if forces else value)
            return
        if raw_depth:
            raw_depth -= 1
        if item is None:
            item = {key: [value] if forces else value}
        elif key in item:
            known = item[key]
            if known.__class__ is list:
                known.append(value)
            else:
                item[key] = [known, value]
        else:
            item[key] = [value] if forces else value

    parser = _expat.ParserCreate()
    parser.SetParamEntityParsing(_expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entities
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chunks.append
    parser.Parse(body, True)
    root, content = result[0]
    if content is None:
        content = {}
    elif not isinstance(content, dict):
        content = {"#text": content}
    return root, content


def decode_xml(body):
    """Parse an XML body into ``(root element name, canonical dict)``.

    The lean reader takes every document EM sends; the few shapes it does not model go to the
    xmltodict-based reference reader, which gives the same result for everything else.
    """
    if _DOCTYPE.search(body):
        raise EMProtocolError("refusing an XML answer that carries a DOCTYPE declaration (entity expansion is disabled)",
                              hint="Enterprise Manager never sends DTDs; check that url points at EM")
    try:
        root, content = _read_xml_lean(body)
    except _NotLean:
        root, content = _read_xml_reference(body)
    except Exception as exc:  # pylint: disable=broad-except
        raise EMProtocolError("the answer is not well-formed XML (%s)" % (exc,))
    return canonical_key(root), content


def decode_json(body):
    """Parse a JSON body (BOM tolerated) into ``(None, canonical dict)``."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip(u"\ufeff")
        parsed = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EMProtocolError("the answer is not valid JSON (%s)" % (exc,))
    if not isinstance(parsed, dict):
        raise EMProtocolError("the JSON answer is not an object")
    return None, canonicalize(parsed)


def sniff_format(body, content_type=None):
    """``"xml"``, ``"json"``, ``"html"`` or None, from the media type and then from the first bytes."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if ctype == "text/html" or head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return "html"
    if ctype.endswith("json"):
        return "json"
    if ctype.endswith("xml"):
        return "xml"
    if head.startswith(b"<"):
        return "xml"
    if head.startswith(b"{") or head.startswith(b"["):
        return "json"
    return None


def decode(body, content_type=None):
    """Decode an EM answer of either format into ``(root name or None, canonical dict)``."""
    kind = sniff_format(body, content_type)
    if kind == "xml":
        return decode_xml(body)
    if kind == "json":
        return decode_json(body)
    if kind == "html":
        raise EMProtocolError("the server answered with an HTML page, not an Enterprise Manager document")
    raise EMProtocolError("the answer is neither XML nor JSON")


def _as_list(value):
    """Unwrap EM's collection wrappers down to the list of records.

    XML gives ``{"ReplicaTaskSession": [...]}``, v12 JSON ``{"ReplicaTaskSessions": [...]}``,
    v13 JSON the same in camelCase; plain lists and nulls occur too.
    """
    while isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        if not isinstance(inner, (dict, list)) and inner is not None:
            break
        value = inner
    if value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return [value]


def _int_or_none(value):
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EMProtocolError("PagingInfo carries a non-numeric value %r" % (value,))


def query_records(doc):
    """Records of a ``QueryResult`` (entities and references alike), in server order."""
    records = []
    entities = doc.get("Entities")
    if isinstance(entities, dict):
        for wrapper in entities.values():
            records.extend(_as_list(wrapper))
    records.extend(_as_list(doc.get("Refs")))
    return records


def paging_info(doc):
    """``{"PageNum", "PageSize", "PagesCount"}`` as ints from a QueryResult, or None when absent."""
    info = doc.get("PagingInfo")
    if not isinstance(info, dict):
        return None
    return {
        "PageNum": _int_or_none(info.get("PageNum")),
        "PageSize": _int_or_none(info.get("PageSize")),
        "PagesCount": _int_or_none(info.get("PagesCount")),
    }


def collection_records(doc):
    """Records of a plain collection (``EntityReferences`` or a ``...?format=Entity`` list)."""
    records = []
    for value in doc.values():
        records.extend(_as_list(value))
    return records


# Record fields that EM always sends as strings (XML attributes/elements, JSON strings), and those it sends as
# numbers or booleans in JSON (strings in XML).  A value of another type means the answer is not EM's.
_STRING_FIELDS = ("UID", "Name", "Href", "Type", "VmDisplayName", "VmUid", "JobUid", "JobName", "JobType",
                  "JobSessionUid", "PolicyUid", "PolicyName", "PolicyType", "PolicySessionUid", "CreationTimeUTC",
                  "EndTimeUTC", "CreationTime", "EndTime", "State", "Result", "Reason", "FailureMessage")
_NUMBER_FIELDS = ("TotalSize", "Progress")
_BOOLEAN_FIELDS = ("IsRetry",)
_NUMBER_TYPES = (int, float, str)
_FIELD_KINDS = dict([(key, "a string") for key in _STRING_FIELDS] + [(key, "a number") for key in _NUMBER_FIELDS]
                    + [(key, "a boolean") for key in _BOOLEAN_FIELDS])


def _type_name(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _fits(kind, value):
    """Whether a value that is neither None nor a string may stand in a field of *kind*."""
    if kind == "a string":  # an XML element with attributes next to its text
        return isinstance(value, dict) and isinstance(value.get("#text", ""), (str, type(None)))
    if kind == "a number":
        return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)
    return isinstance(value, bool)


def check_record(record, where):
    """Raise :class:`EMProtocolError` unless *record* is an EM record: an object with a UID string and fields
    of the types EM uses.  *where* names the record in the message (``"record 3 of Entities"``).

    Strings and nulls are the common case and cost one test each; only other values are looked up.
    """
    if not isinstance(record, dict):
        raise EMProtocolError("%s is %s, not an object" % (where, _type_name(record)))
    uid = record.get("UID")
    if not isinstance(uid, str) or not uid.strip():
        if "UID" not in record:
            raise EMProtocolError("%s has no UID (a required field)" % where)
        raise EMProtocolError("%s has %s as UID, where Enterprise Manager sends a string" % (where, _type_name(uid)))
    for key, value in record.items():
        if value is None or isinstance(value, str):
            continue
        kind = _FIELD_KINDS.get(key)
        if kind is not None and not _fits(kind, value):
            raise EMProtocolError("%s has %s as %s, where Enterprise Manager sends %s" % (where, _type_name(value), key, kind))


def _check_list(value, where):
    """Check one collection wrapper (``Refs``, ``Entities/<Plural>``) down to its records."""
    while isinstance(value, dict) and len(value) == 1 and "UID" not in value:
        value = next(iter(value.values()))
    if value is None:
        return
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise EMProtocolError("%s is %s, where Enterprise Manager sends a list of records" % (where, _type_name(value)))
    for index, record in enumerate(value):
        check_record(record, "record %d of %s" % (index + 1, where))


def check_query_result(doc):
    """Raise :class:`EMProtocolError` unless *doc* has the shape of a QueryResult.

    ``Refs`` and ``Entities`` must be objects (or lists of records) or absent, every record an
    object with a UID and fields of EM's types, and ``PagingInfo`` an object of numbers.  Without
    this check a wrong shape would read as "no records" and pass for a complete, empty result.
    """
    for key in ("Refs", "Entities", "PagingInfo"):
        value = doc.get(key)
        if value is not None and not isinstance(value, (dict, list)) and not (isinstance(value, str) and not value.strip()):
            raise EMProtocolError("%s in the QueryResult is %s, where Enterprise Manager sends an object" % (key, _type_name(value)))
    entities = doc.get("Entities")
    if isinstance(entities, list):
        raise EMProtocolError("Entities in the QueryResult is a list, where Enterprise Manager sends an object of collections")
    if isinstance(entities, dict):
        for name, wrapper in entities.items():
            _check_list(wrapper, "Entities/%s" % name)
    refs = doc.get("Refs")
    if refs is not None and not isinstance(refs, str):
        _check_list(refs, "Refs")
    if doc.get("PagingInfo") is not None and not isinstance(doc.get("PagingInfo"), dict):
        raise EMProtocolError("PagingInfo in the QueryResult is a list, where Enterprise Manager sends an object")
    paging_info(doc)


def error_message(body, content_type=None):
    """EM's own ``Message`` from an Error document, or None when the body is something else."""
    if not body:
        return None
    try:
        _root, doc = decode(body, content_type)
    except EMProtocolError:
        return None
    message = doc.get("Message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    detail = doc.get("FirstChanceExceptionMessage")
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    return None


def href_id(href):
    """The last path segment of an ``Href`` (the ``{ID}`` of ``.../logonSessions/{ID}?format=Entity``)."""
    if not href:
        return None
    return href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def is_entry_document(root, doc):
    """True for the answer EM gives at ``GET /api/``: an ``EnterpriseManager`` document."""
    if root is not None:
        return root == "EnterpriseManager"
    return "SupportedVersions" in doc
