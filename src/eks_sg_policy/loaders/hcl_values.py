"""Values of the Terraform evaluator.

Plain Python values stand for known Terraform values: None (null), bool, int/float (number),
str, list (list, tuple and set; sets are de-duplicated and sorted), dict (map and object).
Three more kinds stand for what a static scan cannot know:

- `Unknown`: a value decided only at apply time, by a data source, a module we do not evaluate,
  a function we do not implement. It propagates; it is never guessed.
- `Ref`: a value whose text is unknown but whose *identity* is: the id of a security group
  declared here, a variable without a value, a data-source attribute, a launch template.
- `Tagged`: a known string that also names a resource (a cluster's or launch template's name).

`Lazy` values (resources, module calls, nested blocks) are evaluated attribute by attribute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class EvalError(Exception):
    """An expression Terraform itself would reject; `try()` and `can()` catch it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Unknown:
    what: str
    hint: str = ""
    suffix: str = ""  # literal text an unknown string is known to end with ("/32" of "${ip}/32")

    def __str__(self) -> str:
        return self.what


# Kinds of Ref whose text we never learn but which can be traversed (var.x.y, data.a.b.c).
TRAVERSABLE = frozenset({"var", "data"})


@dataclass(frozen=True, slots=True)
class Ref:
    """An identity known statically: kind is sg, cluster-sg, var, data, lt, lc or cluster."""

    kind: str
    key: str
    what: str
    hint: str = ""

    def extend(self, step: str) -> Ref:
        return Ref(self.kind, self.key + step, self.what + step, self.hint)

    def as_unknown(self) -> Unknown:
        return Unknown(self.what, self.hint)


class Tagged(str):
    """A known string that is also the name or id of a resource declared in the scan."""

    ref: Ref

    def __new__(cls, text: str, ref: Ref) -> Tagged:
        obj = super().__new__(cls, text)
        obj.ref = ref
        return obj


class ObjectValue(dict[str, object]):
    """An object built from a literal `{...}`: remembers the file and line it was written on."""

    origin: tuple[str, int] | None = None

    @classmethod
    def at(cls, origin: tuple[str, int] | None, items: Iterable[tuple[str, object]] = ()) -> ObjectValue:
        obj = cls(items)
        obj.origin = origin
        return obj


class SetValue(list[object]):
    """A set (from `toset`, a `set(...)` type): iterating it gives each element as key and value."""


class Lazy:
    """A value whose parts are evaluated on demand (resource instances, module calls, blocks)."""

    def get_attr(self, name: str) -> object:
        raise EvalError(f"{self.describe()} has no attribute {name!r}")

    def index(self, key: object) -> object:
        raise EvalError(f"{self.describe()} cannot be indexed")

    def materialize(self) -> object:
        return Unknown(self.describe())

    def describe(self) -> str:
        return "value"


def is_unknown(value: object) -> bool:
    return isinstance(value, (Unknown, Ref))


def force(value: object) -> object:
    """Resolve a Lazy value into a plain one (one level deep)."""
    for _ in range(50):
        if not isinstance(value, Lazy):
            return value
        value = value.materialize()
    return Unknown("value")


def find_unknown(value: object, depth: int = 0) -> Unknown | Ref | None:
    """The first Unknown or Ref inside a value, looking through lists and maps."""
    if isinstance(value, (Unknown, Ref)):
        return value
    if depth > 30:
        return None
    if isinstance(value, Lazy):
        return Unknown(value.describe())
    if isinstance(value, list):
        items: Iterable[object] = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return None
    for item in items:
        found = find_unknown(item, depth + 1)
        if found is not None:
            return found
    return None


def unknown_from(value: Unknown | Ref) -> Unknown:
    """The Unknown a computation depending on `value` yields: it names the root cause (the
    reference or function that is not decidable), which is what a user can act on."""
    return value.as_unknown() if isinstance(value, Ref) else value


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def normalize_number(value: float) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def to_text(value: object, what: str = "value") -> str:
    """Terraform's conversion of a primitive to string (for templates and string functions)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        number = normalize_number(value)  # type: ignore[arg-type]
        return str(number) if isinstance(number, int) else repr(number)
    if value is None:
        raise EvalError(f"{what} is null")
    raise EvalError(f"{what} must be a string, not {type_name(value)}")


def to_number(value: object, what: str = "value") -> int | float:
    if is_number(value):
        return normalize_number(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        try:
            return normalize_number(float(value.strip()))
        except ValueError:
            pass
    raise EvalError(f"{what} must be a number, not {type_name(value)} {value!r}")


def to_bool(value: object, what: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvalError(f"{what} must be a bool, not {type_name(value)}")


def equal(left: object, right: object) -> bool:
    """Terraform equality: types must match (`1 == "1"` is false), collections deeply."""
    if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
        check_size(left)
        check_size(right)
        Budget.spend()
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, str) and isinstance(right, str):
        return str.__eq__(left, right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if isinstance(left, Ref) and isinstance(right, Ref):
        return left.key == right.key
    return left is None and right is None


def sort_key(value: object) -> tuple[int, str]:
    """An ordering for set elements: Terraform orders sets of strings lexically."""
    if isinstance(value, str):
        return (0, str.__str__(value))
    if is_number(value):
        return (1, f"{float(value):030.10f}")  # type: ignore[arg-type]
    if isinstance(value, Ref):
        return (2, value.key)
    return (3, repr(value))


def make_set(values: Iterable[object]) -> SetValue:
    out: list[object] = []
    for value in values:
        if not any(equal(value, seen) for seen in out):
            out.append(value)
    return SetValue(sorted(out, key=sort_key))


def pairs(collection: list[object] | dict[str, object]) -> list[tuple[object, object]]:
    """(key, value) pairs as Terraform iterates them: index for lists, element for sets, key
    order for maps."""
    if isinstance(collection, dict):
        return list(sorted_items(collection))
    if isinstance(collection, SetValue):
        return [(value, value) for value in collection]
    return list(enumerate(collection))


def sorted_items(mapping: dict[str, object]) -> list[tuple[str, object]]:
    """Terraform iterates maps and objects in lexical key order."""
    return sorted(mapping.items(), key=lambda kv: kv[0])


class TooMuchWork(Exception):
    """The module asks for more evaluation than a scan allows (a count of a million, a value that
    doubles sixty times): it is refused, never half-evaluated."""


class Budget:
    """Work left for the module being evaluated: one unit per evaluated expression or produced element."""

    LIMIT = 200_000  # real modules need a few thousand (terraform-aws-eks v21: about 1,000)
    MAX_VALUE_SIZE = 200_000
    left = LIMIT

    @classmethod
    def reset(cls) -> None:
        cls.left = cls.LIMIT

    @classmethod
    def spend(cls, units: int = 1) -> None:
        cls.left -= units
        if cls.left < 0:
            raise TooMuchWork(f"evaluating the module takes more than {cls.LIMIT:,} steps")


def check_size(value: object) -> None:
    """Refuse a value that, walked as a tree, is larger than a scan allows. Shared parts are
    measured once (a value built by doubling is small in memory and huge as a tree)."""
    sizes: dict[int, int] = {}

    def size(item: object) -> int:
        if not isinstance(item, (list, dict)):
            return 1
        known = sizes.get(id(item))
        if known is None:
            children = item.values() if isinstance(item, dict) else item
            known = 1 + sum(size(child) for child in children)
            sizes[id(item)] = known
            if known > Budget.MAX_VALUE_SIZE:
                raise TooMuchWork(f"a value has more than {Budget.MAX_VALUE_SIZE:,} elements")
        return known

    size(value)
