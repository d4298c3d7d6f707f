# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Find every user-facing message in the collection's code, and read the troubleshooting catalogue.

Pure functions over source text, used by ``test_error_catalogue.py``; nothing here imports the plugins.

A *message site* is a place in the code that hands a text to the user:

* errors: the first argument (or ``message=``/``msg=``) of a call to a class whose name ends in ``Error``
  (the ``_errors`` hierarchy, ``AnsibleError`` and its kin, ``InventoryBuildError``, ``ValueError``), a
  ``fail_json(msg=...)`` call, a ``"msg"`` key of a dict literal (``to_fail_json_kwargs``), and the
  ``fail``/``assert`` tasks of the role;
* warnings: ``module.warn(...)``, ``display.warning(...)`` and ``<...>warnings.append(...)`` /
  ``.extend(...)``, the lists the modules and the inventory plugin later show as warnings.

Each site's text is turned into a *template*: literal text stays, every value only known at run time
becomes ``...``, whitespace is collapsed.  A name is resolved to its literal when it is a module-level
constant or a constant of the enclosing class (``self.NAME``); a parameter of the enclosing function is
resolved through the calls of that function in the same file (one template per call), so that
``_fail("id", value, "is not a GUID ...")`` gives ``id: ... is not a GUID ...``.  A site whose template
holds no literal text at all (it only passes another message on) is *dynamic*: the test asks for it to
be named in an explicit allow-list.
"""

from __future__ import annotations

import ast
import itertools
import os
import re

import yaml

PLACEHOLDER = "..."
# While rendering, an unknown value is this character; it becomes PLACEHOLDER once the text is complete, so
# that "%s.%s" (a dotted name made of two unknowns) reads "..." rather than seven dots.
_UNKNOWN = "\x00"
PYTHON_DIRS = ("plugins/modules", "plugins/module_utils", "plugins/inventory", "plugins/plugin_utils",
               "plugins/filter")
ROLE_TASK_DIRS = ("roles/replica_compliance/tasks",)
WARNING_CALLS = ("warn", "warning")
FAIL_MODULES = ("fail", "ansible.builtin.fail", "ansible.legacy.fail")
ASSERT_MODULES = ("assert", "ansible.builtin.assert", "ansible.legacy.assert")
# How deep a parameter is followed through the calls of its function, and how many variants one site may give.
_MAX_DEPTH = 4
_MAX_VARIANTS = 64
_PERCENT = re.compile(r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")
_FORMAT_FIELD = re.compile(r"\{\{|\}\}|\{(?P<field>[^{}!:]*)(?:![rsa])?(?::[^{}]*)?\}")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SPACE = re.compile(r"\s+")
_UNKNOWN_RUN = re.compile(r"\x00(?:[./]?\x00)*")


class Site:
    """One message site: where it is, what kind of text it shows, and the templates it can produce."""

    def __init__(self, path, line, kind, templates, function):
        self.path = path
        self.line = line
        self.kind = kind  # "error" or "warning"
        self.templates = templates
        self.function = function

    @property
    def where(self):
        return "%s:%d" % (self.path, self.line)

    def __repr__(self):
        return "Site(%s, %s, %r)" % (self.where, self.kind, self.templates)


def normalise(text):
    """The comparable form of a message: whitespace collapsed."""
    return _SPACE.sub(" ", text).strip()


def finish(text):
    """A rendered text as a template: adjacent unknowns (also ``a.b``, ``a/b``) made one placeholder."""
    return normalise(_UNKNOWN_RUN.sub(PLACEHOLDER, text))


def is_dynamic(template):
    """True when a template has no literal text of its own (it only relays another message)."""
    return not template.replace(PLACEHOLDER, "").strip(" :;,.()'\"")


# --- Python -----------------------------------------------------------------------------------------


def _name_of(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _assigned_constants(body):
    """``{name: value expression}`` of names assigned exactly once in *body* (a module or class body)."""
    found, seen = {}, set()
    for node in body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [(node.target, node.value)]
        for target, value in targets:
            if isinstance(target, ast.Name):
                if target.id in seen:
                    found.pop(target.id, None)
                else:
                    found[target.id] = value
                seen.add(target.id)
    return found


class _Module:
    """One parsed Python file with what resolution needs: constants, functions and the calls to them."""

    def __init__(self, path, text):
        self.path = path
        self.tree = ast.parse(text, filename=path)
        self.constants = _assigned_constants(self.tree.body)
        self.parents = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.functions = {}
        self.calls = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Call):
                name = _name_of(node.func)
                if name:
                    self.calls.setdefault(name, []).append(node)

    def enclosing(self, node, kinds):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, kinds):
                return node
        return None


class _Context:
    """Where an expression is rendered: its module, its function and the bindings of that function's parameters."""

    def __init__(self, module, node, bindings=None, depth=0):
        self.module = module
        self.function = module.enclosing(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        self.klass = module.enclosing(node, (ast.ClassDef,))
        self.bindings = bindings
        self.depth = depth

    def parameters(self):
        if self.function is None or isinstance(self.function, ast.Lambda):
            return ()
        args = self.function.args
        return [arg.arg for arg in args.posonlyargs + args.args + args.kwonlyargs]


def _product(parts):
    """Concatenate every combination of the alternatives in *parts* (lists of strings), capped."""
    results = [""]
    for alternatives in parts:
        results = [left + right for left, right in itertools.product(results, alternatives)][:_MAX_VARIANTS]
    return results


def _literal(value, conversion):
    if conversion == "r":
        return repr(value)
    return str(value)


def _render_value(node, ctx, conversion="s"):
    """Alternatives for one %-argument or format field: a literal where known, else the placeholder."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
        return [_literal(node.value, conversion)]
    texts = render(node, ctx)
    if conversion == "r":
        # repr() of a text only known as a template cannot be written down; keep the template's words.
        return texts if all(text == _UNKNOWN for text in texts) else ["'%s'" % text for text in texts]
    return texts


def _render_percent(template, args, ctx):
    if isinstance(args, ast.Tuple):
        values = list(args.elts)
    elif isinstance(args, ast.Dict):
        values = dict((key.value, value) for key, value in zip(args.keys, args.values) if isinstance(key, ast.Constant))
    else:
        values = [args]
    results = []
    for text in template:
        parts, position, index = [], 0, 0
        for match in _PERCENT.finditer(text):
            parts.append([text[position:match.start()]])
            position = match.end()
            if match.group("conv") == "%":
                parts.append(["%"])
                continue
            if isinstance(values, dict):
                value = values.get(match.group("key"))
            else:
                value = values[index] if index < len(values) else None
                index += 1
            parts.append(_render_value(value, ctx, match.group("conv")) if value is not None else [_UNKNOWN])
        parts.append([text[position:]])
        results.extend(_product(parts))
    return results


def _render_format(template, call, ctx):
    results = []
    for text in template:
        parts, position, index = [], 0, 0
        for match in _FORMAT_FIELD.finditer(text):
            parts.append([text[position:match.start()]])
            position = match.end()
            if match.group(0) in ("{{", "}}"):
                parts.append([match.group(0)[0]])
                continue
            field = match.group("field")
            value = None
            if field == "":
                value = call.args[index] if index < len(call.args) else None
                index += 1
            elif field.isdigit():
                value = call.args[int(field)] if int(field) < len(call.args) else None
            else:
                value = next((keyword.value for keyword in call.keywords if keyword.arg == field), None)
            parts.append(_render_value(value, ctx) if value is not None else [_UNKNOWN])
        parts.append([text[position:]])
        results.extend(_product(parts))
    return results


def _bind(call, function, skip_self):
    """``{parameter: argument expression}`` for one call of *function*; defaults fill the rest."""
    args = function.args
    everything = [arg.arg for arg in args.posonlyargs + args.args]
    defaults = list(zip(everything[len(everything) - len(args.defaults):], args.defaults))
    positional = everything[1:] if skip_self else everything
    bound = dict(defaults)
    bound.update((arg.arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None)
    for name, value in zip(positional, call.args):
        if isinstance(value, ast.Starred):
            break
        bound[name] = value
    if any(keyword.arg is None for keyword in call.keywords) or any(isinstance(arg, ast.Starred) for arg in call.args):
        # **options or *args: which parameter gets what, and which keep their defaults, is not known here
        bound = {}
    for keyword in call.keywords:
        if keyword.arg is not None:
            bound[keyword.arg] = keyword.value
    return bound


def _is_method(module, function):
    owner = module.enclosing(function, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    return isinstance(owner, ast.ClassDef) and not any(
        _name_of(decorator) == "staticmethod" for decorator in function.decorator_list)


def _call_contexts(ctx):
    """One context per call of the enclosing function in the same file, its parameters bound to that call."""
    function = ctx.function
    method = _is_method(ctx.module, function)
    contexts = []
    for call in ctx.module.calls.get(function.name, ()):
        if isinstance(call.func, ast.Attribute) != method:
            continue
        caller = _Context(ctx.module, call, depth=ctx.depth + 1)
        bound = _bind(call, function, method)
        contexts.append(_Context(ctx.module, function.body[0], dict(
            (key, (value, caller)) for key, value in bound.items()), ctx.depth + 1))
    return contexts


def render_message(node, ctx):
    """Like :func:`render`, but a text built from the enclosing function's parameters is rendered once per
    call of that function in the same file, with the arguments of that call (so that the parts of one
    message come from one call, never mixed)."""
    parameters = set(ctx.parameters())
    used = set(item.id for item in ast.walk(node) if isinstance(item, ast.Name)) & parameters if node else set()
    if used and ctx.bindings is None and ctx.depth < _MAX_DEPTH:
        contexts = _call_contexts(ctx)
        if contexts:
            results = []
            for inner in contexts:
                results.extend(render(node, inner))
            return list(dict.fromkeys(results))[:_MAX_VARIANTS]
    return render(node, ctx)


def render(node, ctx):
    """The alternatives of text an expression can evaluate to, unknown parts as the placeholder."""
    if node is None:
        return [_UNKNOWN]
    if isinstance(node, ast.Constant):
        return [str(node.value)] if isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool) \
            else [_UNKNOWN]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(_render_value(value.value, ctx, chr(value.conversion) if value.conversion > 0 else "s"))
            else:
                parts.append(render(value, ctx))
        return _product(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        if any(isinstance(side, ast.Constant) and not isinstance(side.value, str) for side in (node.left, node.right)):
            return [_UNKNOWN]  # arithmetic, not text
        return _product([render(node.left, ctx), render(node.right, ctx)])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = render(node.left, ctx)
        return _render_percent(left, node.right, ctx)
    if isinstance(node, ast.Call):
        name = _name_of(node.func)
        if name == "format" and isinstance(node.func, ast.Attribute):
            return _render_format(render(node.func.value, ctx), node, ctx)
        if name in ("str", "to_text", "to_native") and len(node.args) == 1 and isinstance(node.func, ast.Name):
            return render(node.args[0], ctx)
        return [_UNKNOWN]
    if isinstance(node, ast.Name):
        return _render_name(node.id, ctx)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        table = _literal_table(node.value.id, ctx)
        if table is not None:
            # a lookup in a literal table gives one of its values
            results = []
            for value in table.values:
                results.extend(render(value, ctx))
            return results[:_MAX_VARIANTS]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") \
            and ctx.klass is not None:
        value = _assigned_constants(ctx.klass.body).get(node.attr)
        return render(value, ctx) if value is not None else [_UNKNOWN]
    return [_UNKNOWN]


def _render_name(name, ctx):
    if name in ctx.parameters():
        if ctx.bindings is None:
            return [_UNKNOWN]
        bound = ctx.bindings.get(name)
        return render_message(bound[0], bound[1]) if bound is not None else [_UNKNOWN]
    if ctx.function is not None and _assigned_in(ctx.function, name):
        return [_UNKNOWN]
    value = ctx.module.constants.get(name)
    if value is not None:
        return render(value, _Context(ctx.module, value, depth=ctx.depth))
    return [_UNKNOWN]


def _literal_table(name, ctx):
    """The dict literal *name* stands for: assigned once in the enclosing function, else at module level."""
    if ctx.function is not None and not isinstance(ctx.function, ast.Lambda):
        assigned = _assigned_constants(ast.walk(ctx.function))
        if name in assigned:
            return assigned[name] if isinstance(assigned[name], ast.Dict) else None
    table = ctx.module.constants.get(name)
    return table if isinstance(table, ast.Dict) else None


def _assigned_in(function, name):
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
    return False


def _message_argument(call):
    for keyword in call.keywords:
        if keyword.arg in ("message", "msg"):
            return keyword.value
    return call.args[0] if call.args else None


def _is_error_class(name):
    return name.endswith("Error") and name[0].isupper()


def _holds_error_class(call, module):
    """True for ``cls(...)`` where the enclosing function set ``cls`` from a table of error classes
    (``cls = _STATUS_CLASSES.get(status)``, ``cls = TABLE[key]``)."""
    if not isinstance(call.func, ast.Name):
        return False
    function = module.enclosing(call, (ast.FunctionDef, ast.AsyncFunctionDef))
    for node in ast.walk(function) if function is not None else ():
        if not (isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == call.func.id
                                                     for target in node.targets)):
            continue
        value = node.value
        if isinstance(value, ast.Call) and _name_of(value.func) == "get" and isinstance(value.func, ast.Attribute):
            value = value.func.value
        elif isinstance(value, ast.Subscript):
            value = value.value
        table = module.constants.get(value.id) if isinstance(value, ast.Name) else None
        if isinstance(table, ast.Dict) and table.values and all(
                isinstance(item, ast.Name) and _is_error_class(item.id) for item in table.values):
            return True
    return False


def _site_kind(call, module):
    """``(kind, message expression)`` when *call* shows a text to the user, else None."""
    name = _name_of(call.func)
    if name is None:
        return None
    if _is_error_class(name) or _holds_error_class(call, module):
        argument = _message_argument(call)
        return ("error", argument) if argument is not None else None
    if name == "fail_json":
        return "error", next((keyword.value for keyword in call.keywords if keyword.arg == "msg"), None)
    if name in WARNING_CALLS and isinstance(call.func, ast.Attribute) and call.args:
        return "warning", call.args[0]
    if name in ("append", "extend") and isinstance(call.func, ast.Attribute) and call.args:
        target = call.func.value
        label = _name_of(target) if not isinstance(target, ast.Subscript) else None
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
            label = str(target.slice.value)
        if label and label.endswith("warnings"):
            return "warning", call.args[0]
    return None


def python_sites(path, text):
    """Every message site of one Python file; *path* is how messages name the file."""
    module = _Module(path, text)
    sites = []
    for node in ast.walk(module.tree):
        found = None
        if isinstance(node, ast.Call):
            found = _site_kind(node, module)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "msg":
                    found = ("error", value)
        if found is None:
            continue
        kind, argument = found
        ctx = _Context(module, node)
        templates = sorted(set(finish(text) for text in render_message(argument, ctx))) if argument is not None \
            else [PLACEHOLDER]
        function = ctx.function.name if ctx.function is not None and not isinstance(ctx.function, ast.Lambda) else None
        sites.append(Site(path, node.lineno, kind, templates, function))
    sites.sort(key=lambda site: site.line)
    return sites


# --- the role ---------------------------------------------------------------------------------------


def _tasks(items):
    for task in items or ():
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _task_line(text, name):
    for number, line in enumerate(text.splitlines(), 1):
        if name and name in line and "name:" in line:
            return number
    return 1


def jinja_template(text):
    """A role message as a template: every ``{{ ... }}`` and ``{% ... %}`` becomes the placeholder."""
    return normalise(_JINJA.sub(PLACEHOLDER, str(text)))


def role_sites(path, text):
    """The fail and assert messages of one task file of the role."""
    sites = []
    for task in _tasks(yaml.safe_load(text)):
        for module in FAIL_MODULES + ASSERT_MODULES:
            arguments = task.get(module)
            if not isinstance(arguments, dict):
                continue
            keys = ("msg",) if module in FAIL_MODULES else ("fail_msg", "msg")
            message = next((arguments[key] for key in keys if arguments.get(key)), None)
            if message is None:
                # ansible's own default text ("Failed as requested from task", "Assertion failed")
                continue
            sites.append(Site(path, _task_line(text, task.get("name")), "error", [jinja_template(message)],
                              task.get("name")))
    return sites


# --- the collection ---------------------------------------------------------------------------------


def collection_sites(root):
    """Every message site of the collection under *root*, paths relative to *root*."""
    sites = []
    for folder in PYTHON_DIRS:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(".py") and name != "__init__.py":
                relative = "%s/%s" % (folder, name)
                with open(os.path.join(root, relative), encoding="utf-8") as handle:
                    sites.extend(python_sites(relative, handle.read()))
    for folder in ROLE_TASK_DIRS:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith((".yml", ".yaml")):
                relative = "%s/%s" % (folder, name)
                with open(os.path.join(root, relative), encoding="utf-8") as handle:
                    sites.extend(role_sites(relative, handle.read()))
    return sites


# --- the catalogue ----------------------------------------------------------------------------------

# The caption of a code block says what it holds: messages the code produces (checked both ways by the
# test), or examples of text from elsewhere (EM, ansible-core), which are not checked.
CAPTIONS = {"Error message": "error", "Warning message": "warning"}
_DIRECTIVE = re.compile(r"^\.\. code-block:: text\s*$")
_OPTION = re.compile(r"^\s+:(\w+):\s*(.*)$")
_FIELD = re.compile(r"^:(\w[\w ]*):\s*(.*)$")


class Entry:
    """One catalogue entry: its messages (templates) of one kind and its fields (Where, Cause, Fix)."""

    def __init__(self, line, kind):
        self.line = line
        self.kind = kind
        self.templates = []
        self.fields = {}


def catalogue_entries(text):
    """The checked entries of the catalogue: code blocks captioned Error message / Warning message.

    One template per line of the block; the field list that follows the block (``:Where:``, ``:Cause:``,
    ``:Fix:``, each possibly continued on indented lines) belongs to the entry.
    """
    lines = text.splitlines()
    entries = []
    index = 0
    while index < len(lines):
        if not _DIRECTIVE.match(lines[index]):
            index += 1
            continue
        start = index
        index += 1
        options = {}
        while index < len(lines) and _OPTION.match(lines[index]):
            match = _OPTION.match(lines[index])
            options[match.group(1)] = match.group(2).strip()
            index += 1
        body = []
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith((" ", "\t"))):
            body.append(lines[index])
            index += 1
        kind = CAPTIONS.get(options.get("caption"))
        if kind is None:
            continue
        entry = Entry(start + 1, kind)
        entry.templates = [normalise(line) for line in body if line.strip()]
        field = None
        while index < len(lines) and not _DIRECTIVE.match(lines[index]):
            match = _FIELD.match(lines[index])
            if match:
                field = match.group(1)
                entry.fields[field] = match.group(2).strip()
            elif field and lines[index].startswith((" ", "\t")) and lines[index].strip():
                entry.fields[field] += " " + lines[index].strip()
            elif lines[index].strip():
                field = None
                if entries and not entry.fields and lines[index].startswith(("..", "--", "==", "~~")):
                    break
            index += 1
        entries.append(entry)
    return entries


# --- the comparison ---------------------------------------------------------------------------------


def compare(sites, entries, dynamic, internal):
    """Every disagreement between the code's messages and the catalogue, as sentences naming file:line.

    *dynamic* maps ``(path, function or task name)`` of sites that only relay another message to why;
    *internal* maps ``(path, template)`` of messages no user can meet on their own to why.
    """
    problems = []
    catalogued = {}
    for entry in entries:
        for template in entry.templates:
            key = (entry.kind, template)
            if key in catalogued:
                problems.append("troubleshooting.rst:%d lists the %s message %r again (first at line %d)"
                                % (entry.line, entry.kind, template, catalogued[key].line))
            else:
                catalogued[key] = entry
    produced = set()
    used_dynamic, used_internal = set(), set()
    for site in sites:
        for template in site.templates:
            key = (site.kind, template)
            produced.add(key)
            if (site.path, template) in internal:
                used_internal.add((site.path, template))
                continue
            if is_dynamic(template):
                if (site.path, site.function) in dynamic:
                    used_dynamic.add((site.path, site.function))
                else:
                    problems.append("%s (in %s) builds its %s message from run-time values only (%r): add it to the "
                                    "DYNAMIC allow-list if it relays a message catalogued elsewhere, or give it text"
                                    % (site.where, site.function, site.kind, template))
                continue
            entry = catalogued.get(key)
            if entry is None:
                problems.append("%s: the %s message %r is missing from the catalogue" % (site.where, site.kind, template))
            elif os.path.basename(site.path) not in entry.fields.get("Where", ""):
                problems.append("troubleshooting.rst:%d: the Where field of %r does not name %s, which produces it (%s)"
                                % (entry.line, template, os.path.basename(site.path), site.where))
    for key, entry in sorted(catalogued.items(), key=lambda item: item[1].line):
        if key not in produced:
            problems.append("troubleshooting.rst:%d lists the %s message %r, which no code produces any more"
                            % (entry.line, key[0], key[1]))
    for entry in entries:
        for field in ("Where", "Cause", "Fix"):
            if not entry.fields.get(field):
                problems.append("troubleshooting.rst:%d: the entry has no %s field" % (entry.line, field))
    for key in sorted(set(dynamic) - used_dynamic, key=str):
        problems.append("the DYNAMIC allow-list names %s (%s), which relays no message any more" % key)
    for key in sorted(set(internal) - used_internal, key=str):
        problems.append("the INTERNAL allow-list names %r in %s, which the code no longer has" % (key[1], key[0]))
    return problems
