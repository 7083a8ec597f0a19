"""Which cells of a lesson cannot see a given model: the dataflow check behind the lesson tags ``same-for-any-*``.

A lesson run with another model (``XAI_IMAGE_MODEL``, ``XAI_TEXT_MODEL``; tests/system/test_lesson*_other_model*)
must reach its end. Some sections never touch that model -- the ground-truth lab of 4.5 trains its own digit CNNs,
4.4a's classifier section runs the course classifier with its own encoder -- and compute exactly what nbval
computes in the default run of the same ``make test``. Such a cell may carry the tag ``same-for-any-image-model``
(or ``-text-model``), and ``execute_lesson(..., skip_tag=...)`` leaves it out of the other-model run, but only
after ``independent_cells`` has proved, on the source, that leaving it out changes nothing the other cells see:

* the model taint: a name is tainted when a top-level statement that stores it reads a tainted name or calls a
  loader of the model (``SEEDS``); stored means bound (assignment, loop or ``with`` target, ``def``, ``class``,
  ``import``, ``del``) or mutated (the base of a subscript or attribute target, or of a method call). A tagged
  cell must read no tainted name and call no loader;
* the cells that stay: none may read a name that only tagged cells bind.

Conservative by construction (a statement taints everything it binds or mutates); Python's dynamic features
(``globals()``, ``exec``) are not followed, and the lessons use none.
"""
import ast
import builtins

from IPython.core.inputtransformer2 import TransformerManager

#: The calls that load (or build from the environment) each kind of model, and the names the lessons give them. A
#: loader called with a model's name as a literal (``xh.load_text_model("all-minilm-l6-v2")``) does not read the
#: environment variable: it loads that model in every run.
SEEDS = {
    "same-for-any-image-model": {"calls": ("load_image_model", "explore_image", "ImageClassifierInterpreter"),
                                 "names": ("image_model",)},
    "same-for-any-text-model": {"calls": ("load_text_model", "explore_text"),
                                "names": ("text_model",)},
}
LOADERS = ("load_image_model", "load_text_model")


def _statements(source):
    return ast.parse(TransformerManager().transform_cell(source)).body


def _called(node):
    """Names of the functions a node calls (``f(...)`` and ``obj.f(...)`` both give ``f``), less the loaders called
    with a literal model name."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            named = n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)
            if not (name in LOADERS and named):
                out.add(name)
    return out


def _locals(node):
    """The names a statement's own loops, comprehensions, lambdas, functions and ``with ... as`` bind: reading or
    changing them inside the statement touches the statement's own values."""
    local = set()
    for n in ast.walk(node):
        if isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension)):
            local |= {t.id for t in ast.walk(n.target) if isinstance(t, ast.Name)}
        elif isinstance(n, ast.withitem) and n.optional_vars is not None:
            local |= {t.id for t in ast.walk(n.optional_vars) if isinstance(t, ast.Name)}
        elif isinstance(n, ast.arg):
            local.add(n.arg)
    return local


def _reads(node):
    """Names a statement reads from before it."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - _locals(node)


def _base(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _binds(statement, modules=frozenset()):
    """(names a top-level statement binds anew, names whose object it may mutate). A method call mutates its object,
    unless that is an imported module: ``xh.show_map(...)`` or ``np.mean(...)`` changes no data of the lesson."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}, set()             # a definition binds its name; its body runs later, when called
    bound, mutated = set(), set()
    for n in ast.walk(statement):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.Attribute, ast.Subscript)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            mutated.add(_base(n))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and _base(n.func.value) not in modules:
            mutated.add(_base(n.func.value))
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in n.names)
    return bound - {None}, mutated - {None} - bound - _locals(statement)


def _pieces(statement, modules):
    """(reads, bound, mutated, calls) of each simple step of a top-level statement, in the order they run: a loop,
    ``if``, ``with`` or ``try`` is its header, then the statements of its blocks (a name bound in a loop's body and
    read after it, in the same body, is the body's own)."""
    blocks = {ast.For: ("body", "orelse"), ast.AsyncFor: ("body", "orelse"), ast.While: ("body", "orelse"),
              ast.If: ("body", "orelse"), ast.With: ("body",), ast.AsyncWith: ("body",),
              ast.Try: ("body", "orelse", "finalbody")}
    kind = type(statement)
    if kind not in blocks:
        yield (_reads(statement), *_binds(statement, modules), _called(statement))
        return
    if kind in (ast.For, ast.AsyncFor):
        header, targets = [statement.iter], [statement.target]
    elif kind in (ast.While, ast.If):
        header, targets = [statement.test], []
    elif kind in (ast.With, ast.AsyncWith):
        header = [item.context_expr for item in statement.items]
        targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
    else:
        header, targets = [], []
    reads = set().union(*(_reads(h) for h in header)) if header else set()
    bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    yield reads, bound, set(), set().union(*(_called(h) for h in header)) if header else set()
    for field in blocks[kind]:
        for inner in getattr(statement, field):
            yield from _pieces(inner, modules)
    for handler in getattr(statement, "handlers", []):
        yield set(), {handler.name} - {None}, set(), set()
        for inner in handler.body:
            yield from _pieces(inner, modules)


def _code_cells(cells):
    """``(index, cell, pieces)`` for each code cell, in order: its steps as ``_pieces`` gives them, with the names
    bound to modules so far (``import``, and ``ev = xh.evaluation``: another name of a module)."""
    modules = set()
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        pieces = []
        for statement in _statements(cell.source):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                modules |= _binds(statement)[0]
            elif (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Attribute)
                  and _base(statement.value) in modules):
                modules |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
            pieces += list(_pieces(statement, modules))
        yield index, cell, pieces


def independent_cells(cells, tag):
    """Indices (into ``cells``, nbformat cells) of the code cells tagged ``tag``; raises AssertionError, naming the
    cell and the name, where a tagged cell could see the model or a cell that stays reads what only tagged cells
    bind or change."""
    seeds = SEEDS[tag]
    tainted, only_tagged, tagged = set(seeds["names"]), set(), []
    for index, cell, pieces in _code_cells(cells):
        is_tagged = tag in cell.get("metadata", {}).get("tags", [])
        for reads, bound, mutated, calls in pieces:
            loads_model = bool(calls & set(seeds["calls"]))
            if is_tagged:
                seen = (reads & tainted) or (loads_model and {"a loader of the model"}) or (mutated & tainted)
                assert not seen, f"cell {index} is tagged {tag!r} but reads {sorted(seen)}: {cell.source[:120]!r}"
                only_tagged |= bound | mutated
            else:
                leaked = (reads | mutated) & only_tagged
                assert not leaked, (f"cell {index} reads {sorted(leaked)}, which cells tagged {tag!r} bind or "
                                    "change: tag it too, or bind the name anew in an untagged cell first")
                only_tagged -= bound
            if loads_model or reads & tainted:
                tainted |= bound | mutated
            else:
                tainted -= bound                   # bound anew from clean names; a mutated object keeps its taint
        if is_tagged:
            tagged.append(index)
    return tagged


def without(cells, drop):
    """``cells`` less the code cells for which ``drop(cell)`` is true and every later code cell that reads or
    changes a name only dropped cells bind (found by the same dataflow as ``independent_cells``); markdown stays."""
    dropped_names, dropped = set(), set()
    for index, cell, pieces in _code_cells(cells):
        stale, depends = set(dropped_names), False
        for reads, bound, mutated, _ in pieces:         # in order: a name bound anew earlier in the cell is fresh
            depends |= bool((reads | mutated) & stale)
            stale -= bound
        if drop(cell) or depends:
            dropped_names |= {n for _, b, m, _ in pieces for n in b | m}
            dropped.add(index)
        else:
            dropped_names = stale
    return [cell for index, cell in enumerate(cells) if index not in dropped]
