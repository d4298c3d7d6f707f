"""EM query filter language: parser, binding to a query type, SQL compilation and a pure-Python evaluator.

Grammar (``;`` = AND binds tighter than ``,`` = OR -- precedence is UNCONFIRMED in EM, see README):

    expr       := and_expr ( "," and_expr )*
    and_expr   := primary ( ";" primary )*
    primary    := "(" expr ")" | comparison
    comparison := FIELD OP VALUE          OP in == != < > <= >=
    VALUE      := '"' ( any char except '"' | '""' )* '"'  |  unquoted run without ; , ( ) "  (spaces dropped)
"""

import functools

from em_simulator import model

OPS = ("==", "!=", "<=", ">=", "<", ">")
SQL_OPS = {"==": "=", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}
_FOLD = dict((c, c + 32) for c in range(ord("A"), ord("Z") + 1))


class FilterError(ValueError):
    """A filter that cannot be parsed or bound; the message is sent to the client in an Error document."""


def fold(text):
    """ASCII-only case folding: the same rule as SQLite's NOCASE collation."""
    return text.translate(_FOLD)


class _Parser(object):
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def error(self, message):
        raise FilterError("Invalid filter expression: %s at position %d in '%s'" % (message, self.pos + 1, self.text))

    def skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def peek(self):
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self):
        node = self.expr()
        if self.peek() == ")":
            self.error("unbalanced ')'")
        if self.pos < len(self.text):
            self.error("unexpected character %r" % self.text[self.pos])
        return node

    def expr(self):
        items = [self.and_expr()]
        while self.peek() == ",":
            self.pos += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self):
        items = [self.primary()]
        while self.peek() == ";":
            self.pos += 1
            items.append(self.primary())
        return items[0] if len(items) == 1 else ("and", items)

    def primary(self):
        char = self.peek()
        if char == "(":
            self.pos += 1
            node = self.expr()
            if self.peek() != ")":
                self.error("missing ')'")
            self.pos += 1
            return node
        if char == "":
            self.error("expected a condition but the expression ended")
        return self.comparison()

    def comparison(self):
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_."):
            self.pos += 1
        field = self.text[start:self.pos]
        if not field:
            self.error("expected a field name")
        self.skip_ws()
        op = None
        for candidate in OPS:
            if self.text.startswith(candidate, self.pos):
                op = candidate
                break
        if op is None:
            self.error("expected a comparison operator (== != < > <= >=) after '%s'" % field)
        self.pos += len(op)
        self.skip_ws()
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            value = self.quoted()
        else:
            value = self.unquoted()
        return ("cmp", field, op, value)

    def quoted(self):
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.error("unterminated quoted value")
            char = self.text[self.pos]
            if char == '"':
                if self.text.startswith('""', self.pos):
                    out.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                break
            out.append(char)
            self.pos += 1
        nxt = self.peek()
        if nxt not in ("", ";", ",", ")"):
            self.error("unexpected %r after quoted value" % nxt)
        return "".join(out)

    def unquoted(self):
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ';,()"':
            self.pos += 1
        if self.pos < len(self.text) and self.text[self.pos] in '("':
            self.error("unexpected %r in unquoted value (quote the value)" % self.text[self.pos])
        value = self.text[start:self.pos].replace(" ", "").replace("\t", "")
        if not value:
            self.error("missing value")
        return value


def parse(text):
    """Parse filter text into an AST of ("or"|"and", [nodes]) and ("cmp", field, op, raw_value)."""
    if len(text) > 20000:
        raise FilterError("Invalid filter expression: too long")
    return _Parser(text).parse()


def _strip_prefix(value, prefix):
    if prefix and fold(value).startswith(fold(prefix)):
        value = value[len(prefix):]
    return value.lower()


def _convert(kind, spec, raw):
    """Convert a raw filter value for a field kind; raises FilterError with a specific message."""
    if kind == "str":
        return raw
    if kind == "uid":
        return _strip_prefix(raw, spec.prefix)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise FilterError("Invalid value '%s' for numeric field '%s'" % (raw, spec.name)) from None
    if kind == "bool":
        low = raw.lower()
        if low in ("true", "false"):
            return 1 if low == "true" else 0
        raise FilterError("Invalid value '%s' for boolean field '%s' (use True or False)" % (raw, spec.name))
    if kind == "date":
        try:
            return model.parse_time(raw)
        except (ValueError, OverflowError):
            raise FilterError("Invalid value '%s' for date field '%s' (use UTC ISO 8601, e.g. 2024-01-31T00:00:00Z)"
                              % (raw, spec.name)) from None
    if kind == "enum":
        low = raw.lower()
        for index, item in enumerate(spec.enum):
            if item.lower() == low:
                return index
        raise FilterError("Invalid value '%s' for field '%s'; allowed values: %s" % (raw, spec.name, ", ".join(spec.enum)))
    raise FilterError("Unsupported field kind %s" % kind)


def bind(ast, tspec):
    """Resolve field names of ``ast`` against a TypeSpec and convert the values to typed values."""
    if ast is None:
        return None
    if ast[0] in ("and", "or"):
        return (ast[0], [bind(node, tspec) for node in ast[1]])
    _tag, name, op, raw = ast
    spec = tspec.field(name)
    if spec is None:
        raise FilterError("Unknown filter field '%s' for query type '%s'. Supported fields: %s"
                          % (name, tspec.name, ", ".join(f.name for f in tspec.field_list)))
    kind = spec.inner_kind if spec.kind == "fk" else spec.kind
    return ("cmp", spec, op, _convert(kind, spec, raw))


@functools.lru_cache(maxsize=64)
def _parse_cached(text):
    # Every page of a paged query repeats its filter; the inventory sends filters of up to ~10 KB.  The AST is only read.
    return parse(text)


def parse_bound(text, tspec):
    """Parse and bind in one step; an empty/absent filter gives None."""
    if text is None or not text.strip():
        return None
    return bind(_parse_cached(text), tspec)


def field_sql(spec):
    """SQL expression used to sort by a field."""
    if spec.kind == "fk":
        expr = "(SELECT %s FROM %s p WHERE p.id = %s)" % (spec.inner, spec.parent, spec.column)
        return expr + " COLLATE NOCASE" if spec.inner_kind == "str" else expr
    if spec.kind == "str":
        return spec.column + " COLLATE NOCASE"
    return spec.column


def to_sql(node, now_ms, resolve=None):
    """Compile a bound AST to (sql, params).  Dates become offsets relative to the data clock.

    ``resolve(spec, sql_op, value)`` may return the matching parent row ids; they are inlined as an integer list
    so that SQLite can pick the (fk, creation) index instead of a low-selectivity one.
    """
    if node[0] in ("and", "or"):
        parts, params = [], []
        children, lists = _value_lists(node)
        if resolve is not None and node[0] == "or":
            children, fk_sql = _fk_lists(children, resolve)
            parts.extend(fk_sql)
        for spec, op, values in lists:
            # One (NOT) IN per list of the same comparison: SQLite looks each row up in a b-tree of the list
            # instead of testing every term, so a job's "VmDisplayName!=" list of 300 VMs costs the server
            # O(rows log n) rather than O(rows * n) (the cost model, not the SQL, is what the server charges).
            sql = "%s%s %s (%s)" % (spec.column, " COLLATE NOCASE" if spec.kind == "str" else "",
                                    "NOT IN" if op == "!=" else "IN", ",".join("?" * len(values)))
            parts.append("(%s)" % sql)
            params.extend(values)
        for child in children:
            sql, child_params = to_sql(child, now_ms, resolve)
            parts.append("(%s)" % sql)
            params.extend(child_params)
        return (" AND " if node[0] == "and" else " OR ").join(parts), params
    _tag, spec, op, value = node
    sop = SQL_OPS[op]
    if spec.kind == "fk":
        if resolve is not None:
            ids = resolve(spec, sop, value)
            return "%s IN (%s)" % (spec.column, ",".join(str(int(i)) for i in ids)), []
        coll = " COLLATE NOCASE" if spec.inner_kind == "str" else ""
        return "%s IN (SELECT id FROM %s WHERE %s%s %s ?)" % (spec.column, spec.parent, spec.inner, coll, sop), [value]
    if spec.kind == "date":
        return "%s %s ?" % (spec.column, sop), [value - now_ms]
    if spec.kind == "str":
        return "%s COLLATE NOCASE %s ?" % (spec.column, sop), [value]
    return "%s %s ?" % (spec.column, sop), [value]


# Fewer terms than this stay plain comparisons: the SQL of short filters reads as the filter does.
VALUE_LIST_MIN = 8


def _long_runs(children, op, kinds):
    """Split *children* into ([the rest], [runs]): a run is the VALUE_LIST_MIN or more ``op`` comparisons of
    one field whose kind is in *kinds*, in the order they came."""
    runs = {}
    for child in children:
        if child[0] == "cmp" and child[2] == op and child[1].kind in kinds:
            runs.setdefault(id(child[1]), []).append(child)
    long_runs = [members for members in runs.values() if len(members) >= VALUE_LIST_MIN]
    grouped = set(id(child) for members in long_runs for child in members)
    return [child for child in children if id(child) not in grouped], long_runs


def _value_lists(node):
    """Split the children of an and/or node into ([other children], [(spec, op, [values])]).

    Under AND the ``!=`` comparisons of one plain column, and under OR its ``==`` comparisons, are the same
    test as one ``NOT IN`` / ``IN`` list.
    """
    wanted = "!=" if node[0] == "and" else "=="
    others, runs = _long_runs(node[1], wanted, ("str", "int", "uid", "enum"))
    return others, [(members[0][1], wanted, [child[3] for child in members]) for members in runs]


def _fk_lists(children, resolve):
    """Under OR, the ``==`` comparisons of one link field as one ``IN`` of all the parent ids they resolve to.

    The inventory asks for the tasks of dozens of job sessions as ``JobSessionUid==...`` terms; one id list
    lets SQLite use the (session) index once instead of OR-ing dozens of lists.
    """
    others, runs = _long_runs(children, "==", ("fk",))
    sql = []
    for members in runs:
        ids = set()
        for child in members:
            ids.update(resolve(child[1], "=", child[3]))
        sql.append("(%s IN (%s))" % (members[0][1].column, ",".join(str(int(i)) for i in sorted(ids))))
    return others, sql


def _compare(left, op, right):
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right


def evaluate(node, record):
    """Evaluate a bound AST against a canonical record (ground truth; independent of the SQL path)."""
    if node is None:
        return True
    if node[0] == "and":
        return all(evaluate(child, record) for child in node[1])
    if node[0] == "or":
        return any(evaluate(child, record) for child in node[1])
    _tag, spec, op, value = node
    kind = spec.inner_kind if spec.kind == "fk" else spec.kind
    if kind == "date":
        left = record.get("_ms_" + spec.key)
    else:
        left = record.get(spec.key)
    if left is None and kind == "str":
        left = ""  # empty strings are stored as '' (never NULL); records show them as None
    if left is None:
        return False
    if kind == "str":
        return _compare(fold(left), op, fold(value))
    if kind == "uid":
        return _compare(_strip_prefix(left, spec.prefix), op, value)
    if kind == "enum":
        return _compare(spec.enum.index(left), op, value)
    if kind == "bool":
        return _compare(1 if left else 0, op, value)
    return _compare(left, op, value)
