"""Safe arithmetic for the CalculatorAgent: evaluates an expression by walking its `ast` over a
whitelist of numbers, operators and a few math functions; nothing is ever passed to eval/exec.

Guards stop inputs that would hang or exhaust the process (giant powers, deep nesting, huge
text) before any work is done, each with a message saying which limit was hit.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 1000
MAX_NESTING_DEPTH = 50
MAX_EXPONENT = 10_000
MAX_RESULT_DIGITS = 10_000
_MAX_RESULT_BITS = int(MAX_RESULT_DIGITS * math.log2(10)) + 1

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "min": min,
    "max": max,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_QUESTION_PREFIX = re.compile(
    r"^\s*(?:(?:what|how much)\s+(?:is|are|'s)|what's|whats|calculate|compute|evaluate|work out|solve)\s*:?\s*",
    re.IGNORECASE,
)
_TIMES = re.compile(r"(?<=[\d)])\s*[x×X]\s*(?=[\d(.]|pi\b|e\b)")
_THOUSANDS = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+)(?![\d.]|,\d)")


def _clean(expression: str) -> str:
    """Turn how people type sums ("what is 2 x 3?", "2^10", "1,000 ÷ 4") into Python syntax."""
    text = _QUESTION_PREFIX.sub("", expression.strip())
    text = text.rstrip(" ?.=!")
    text = text.replace("÷", "/").replace("−", "-").replace("^", "**")
    text = _TIMES.sub("*", text)
    if not re.search(r"[A-Za-z_]\w*\s*\(", text):  # commas are thousands separators only outside min()/max()
        text = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)
    return text


def _depth(node: ast.AST) -> int:
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_NESTING_DEPTH:
            break
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(current))
    return deepest


def _paren_depth(text: str) -> int:
    """Deepest parenthesis nesting, checked before parsing because Python's parser fails on deep
    nesting with a message about its own limits rather than ours."""
    level = deepest = 0
    for ch in text:
        if ch == "(":
            level += 1
            deepest = max(deepest, level)
        elif ch == ")":
            level -= 1
    return deepest


def _check_size(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > _MAX_RESULT_BITS:
        raise ValueError(f"Result would have more than {MAX_RESULT_DIGITS:,} digits; refusing to compute it")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Result is not a finite number (overflow)")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"Exponent {exponent:g} is too large: the limit is {MAX_EXPONENT:,}")
    if base not in (0, 1, -1) and exponent > 0:
        estimated_digits = exponent * math.log10(abs(base)) if base else 0
        if estimated_digits > MAX_RESULT_DIGITS:
            raise ValueError(
                f"{base:g} ** {exponent:g} would have about {estimated_digits:,.0f} digits; "
                f"the limit is {MAX_RESULT_DIGITS:,}"
            )
    try:
        result = base**exponent
    except OverflowError:
        raise ValueError(f"{base:g} ** {exponent:g} overflows") from None
    except ZeroDivisionError:
        raise ValueError("Division by zero: 0 cannot be raised to a negative power") from None
    if isinstance(result, complex):
        raise ValueError(f"{base:g} ** {exponent:g} is not a real number")
    return result


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"Unknown name {node.id!r}: only the constants pi and e are allowed")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _check_size(_power(left, right))
        if type(node.op) not in _BINARY:
            raise ValueError(f"Operator {type(node.op).__name__} is not allowed; use + - * / // % **")
        if isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > _MAX_RESULT_BITS + 1:
                raise ValueError(f"Result would have more than {MAX_RESULT_DIGITS:,} digits; refusing to compute it")
        try:
            return _check_size(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ValueError("Division by zero") from None
        except OverflowError:
            raise ValueError("Result is too large to represent (overflow)") from None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ValueError(f"Function {name!r} is not allowed; available: {', '.join(sorted(_FUNCTIONS))}")
        if node.keywords:
            raise ValueError(f"Function {node.func.id!r} takes positional arguments only")
        args = [_evaluate(arg) for arg in node.args]
        try:
            return _check_size(_FUNCTIONS[node.func.id](*args))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{node.func.id}() cannot take {', '.join(f'{a:g}' for a in args) or 'no arguments'}: {exc}"
            ) from None
        except OverflowError:
            raise ValueError(f"{node.func.id}() result is too large (overflow)") from None
    raise ValueError(
        f"{ast.unparse(node)!r} is not allowed in a calculation: "
        "use numbers, + - * / // % **, parentheses and math functions"
    )


def _format(value: Number) -> str:
    if isinstance(value, int):
        if abs(value) < 10**15:
            return f"{value:,}"
        exponent = int(math.log10(abs(value)))
        mantissa = (
            value / 10**exponent
            if exponent < 300
            else 10 ** (math.log10(abs(value)) - exponent) * (1 if value > 0 else -1)
        )
        return f"{mantissa:.6f}e+{exponent} (about {exponent + 1:,} digits)"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.10g}"


def calculate(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression exactly and safely.

    Args:
        expression: Arithmetic to evaluate, e.g. "2 + 3 * 4", "(1 + 2) ** 10", "2^8", "12 x 7", "sqrt(2) * pi" or "what is 15 % 4". Functions: sqrt, abs, round, sin, cos, tan, log, log10, exp, min, max; constants pi, e.
    """  # noqa: E501 - wrapping the Args line would put a newline into the tool's parameter description
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("expression must be a non-empty arithmetic expression such as '2 + 2'")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression is {len(expression):,} characters long; the limit is {MAX_EXPRESSION_CHARS:,}")
    cleaned = _clean(expression)
    if not cleaned:
        raise ValueError(f"No arithmetic found in {expression!r}")
    if _paren_depth(cleaned) > MAX_NESTING_DEPTH:
        raise ValueError(f"expression is nested more than {MAX_NESTING_DEPTH} levels deep")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise ValueError(
            f"Cannot read {expression!r} as arithmetic: check the numbers, operators and parentheses"
        ) from None
    except (RecursionError, MemoryError):  # the parser's own stack limit: far past ours anyway
        raise ValueError(f"expression is nested more than {MAX_NESTING_DEPTH} levels deep") from None
    if _depth(tree) > MAX_NESTING_DEPTH:
        raise ValueError(f"expression is nested more than {MAX_NESTING_DEPTH} levels deep")
    result = _evaluate(tree)
    shown = _format(result)
    exact = isinstance(result, int) and abs(result) < 10**300
    return {
        "summary": f"{cleaned.replace('**', '^')} = {shown}",
        "expression": cleaned,
        "result": result if exact or isinstance(result, float) else shown,
    }
