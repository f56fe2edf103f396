"""A whitelisted evaluator for user lr expressions of `epoch` and `step`: parsed once, never eval.

Arithmetic is float64 with IEEE semantics (numpy): `1 / 0` is inf and `9 ** 9 ** 9` is inf at
once instead of a huge integer, so no input can hang the evaluator; callers reject values that
are not finite numbers >= 0. One compiled expression evaluates a scalar or a whole array.
"""

import ast
import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
# a node maps (epoch, step) to values: float64 scalars or arrays, never Python numbers
Node = Callable[[Any, Any], Any]
Operator = Callable[[Any, Any], Any]

MAX_LENGTH = 500
MAX_DEPTH = 40
CHUNK = 1 << 20
NAMES = ("epoch", "step")
CONSTANTS = {"pi": math.pi, "e": math.e}
FUNCTIONS: dict[str, np.ufunc] = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "cos": np.cos,
    "sin": np.sin,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
}
VARIADIC: dict[str, np.ufunc] = {"min": np.minimum, "max": np.maximum}
# Python operators on numpy float64 values keep numpy's IEEE semantics and are fast on scalars
BINARY: dict[type[ast.operator], Operator] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
COMPARE: dict[type[ast.cmpop], Operator] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.BoolOp: "and/or (write `x if c else y`)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "strings",
    ast.NamedExpr: "assignments",
    ast.Starred: "starred arguments",
}
ALLOWED = "numbers, epoch, step, pi, e, + - * / // % **, comparisons, `x if c else y`"


class ExpressionError(ValueError):
    """The expression uses something the evaluator does not allow."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression; call it with numbers or `values()` with arrays."""

    source: str
    root: Node = field(repr=False, compare=False)

    def values(self, epoch: Array, step: Array) -> Array:
        with np.errstate(all="ignore"):
            result = self.root(epoch, step)
        return np.broadcast_to(np.asarray(result, dtype=np.float64), np.shape(epoch))

    def __call__(self, epoch: float, step: float) -> float:
        with np.errstate(all="ignore"):
            return float(self.root(np.float64(epoch), np.float64(step)))


def parse_expression(source: str) -> Expression:
    """Parse and check `source` once; raise ExpressionError naming what is not allowed."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax: {exc.msg} (column {exc.offset})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the expression cannot be parsed") from None
    return Expression(source, _compile(tree.body, 0))


def _compile(node: ast.expr, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        raise ExpressionError(f"not allowed: {_describe(node)}; allowed: {ALLOWED}")
    return compiler(node, depth + 1)


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"attribute access (.{node.attr})"
    return REFUSED.get(type(node), type(node).__name__)


def _constant(node: Any, _: int) -> Node:
    value = node.value
    if isinstance(value, str | bytes):
        raise ExpressionError("strings are not allowed; the expression must be a number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"the constant {value!r} is not allowed; only numbers are")
    try:
        number = np.float64(float(value))
    except OverflowError:
        raise ExpressionError("a number in the expression is too large") from None
    return lambda _epoch, _step: number


def _name(node: Any, _: int) -> Node:
    name = node.id
    if name == "epoch":
        return lambda epoch, _step: epoch
    if name == "step":
        return lambda _epoch, step: step
    if name in CONSTANTS:
        number = np.float64(CONSTANTS[name])
        return lambda _epoch, _step: number
    if name in FUNCTIONS or name in VARIADIC:
        raise ExpressionError(f"{name} is a function: call it, as in {name}(epoch)")
    raise ExpressionError(f"the name {name!r} is not allowed; use epoch, step, pi or e")


def _unary(node: Any, depth: int) -> Node:
    operand = _compile(node.operand, depth)
    if isinstance(node.op, ast.USub):
        return lambda epoch, step: -operand(epoch, step)
    if isinstance(node.op, ast.UAdd):
        return operand
    raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed; use unary -")


def _binary(node: Any, depth: int) -> Node:
    function = BINARY.get(type(node.op))
    if function is None:
        raise ExpressionError(
            f"the operator {type(node.op).__name__} is not allowed; use + - * / // % **"
        )
    left, right = _compile(node.left, depth), _compile(node.right, depth)
    return lambda epoch, step: function(left(epoch, step), right(epoch, step))


def _compare(node: Any, depth: int) -> Node:
    functions = []
    for op in node.ops:
        if type(op) not in COMPARE:
            raise ExpressionError(f"the comparison {type(op).__name__} is not allowed")
        functions.append(COMPARE[type(op)])
    operands = [_compile(operand, depth) for operand in [node.left, *node.comparators]]

    def compare(epoch: Any, step: Any) -> Any:
        values = [operand(epoch, step) for operand in operands]
        truth = functions[0](values[0], values[1])
        for function, left, right in zip(functions[1:], values[1:], values[2:], strict=False):
            truth = truth & function(left, right)
        return truth * np.float64(1.0)

    return compare


def _if(node: Any, depth: int) -> Node:
    test, body = _compile(node.test, depth), _compile(node.body, depth)
    orelse = _compile(node.orelse, depth)

    def choose(epoch: Any, step: Any) -> Any:
        condition = test(epoch, step)
        if isinstance(condition, np.ndarray):
            return np.where(condition != 0, body(epoch, step), orelse(epoch, step))
        return body(epoch, step) if condition else orelse(epoch, step)

    return choose


def _call(node: Any, depth: int) -> Node:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    known = ", ".join([*FUNCTIONS, *VARIADIC])
    if name not in FUNCTIONS and name not in VARIADIC:
        called = name or _describe(node.func)
        raise ExpressionError(f"calling {called!r} is not allowed; functions: {known}")
    if node.keywords:
        raise ExpressionError(f"{name}() takes no keyword arguments")
    arguments = [_compile(argument, depth) for argument in node.args]
    if name in FUNCTIONS:
        if len(arguments) != 1:
            raise ExpressionError(f"{name}() takes exactly one argument")
        function, [argument] = FUNCTIONS[name], arguments
        return lambda epoch, step: function(argument(epoch, step))
    if len(arguments) < 2:
        raise ExpressionError(f"{name}() takes at least two arguments")
    pairwise = VARIADIC[name]
    return lambda epoch, step: functools.reduce(
        pairwise, [argument(epoch, step) for argument in arguments]
    )


_COMPILERS: dict[type[ast.AST], Callable[[Any, int], Node]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.UnaryOp: _unary,
    ast.BinOp: _binary,
    ast.Compare: _compare,
    ast.IfExp: _if,
    ast.Call: _call,
}


def is_valid(values: Array) -> npt.NDArray[np.bool_]:
    """Where values are finite numbers >= 0, the only ones a learning-rate factor may take."""
    return np.isfinite(values) & (values >= 0)


def first_invalid(
    expression: Expression,
    counters: range,
    inputs: Callable[[Array], tuple[Array, Array]],
    *,
    cumulative: bool = False,
) -> tuple[int, float] | None:
    """The first counter whose value is not a finite number >= 0, with that value.

    Evaluates in chunks, so a million counters take well under a second. `inputs` maps the
    counters to (epoch, step). With `cumulative`, the running product of the values (what
    MultiplicativeLR applies) must stay finite too.
    """
    carry = 1.0
    for start in range(counters.start, counters.stop, CHUNK):
        counter = np.arange(start, min(start + CHUNK, counters.stop), dtype=np.float64)
        values = expression.values(*inputs(counter))
        if cumulative:
            with np.errstate(all="ignore"):
                running = carry * np.cumprod(values)
            # a bad factor is reported as itself, an overflow as the running product
            values = np.where(is_valid(values), running, values)
            carry = float(running[-1])
        valid = is_valid(values)
        if not valid.all():
            index = int(np.argmin(valid))
            return int(counter[index]), float(values[index])
    return None
