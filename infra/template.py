"""Reading template.yaml: functions, API routes, schedules and the intrinsic functions the local stack needs.

template.yaml is the one source of truth; the local stack, the tests and the benchmarks read it through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
_SHORT_FORMS = {"Ref": "Ref", "Condition": "Condition"}


# libyaml's parser when PyYAML has it (8x faster on template.yaml, the same result), the pure-Python one otherwise.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A YAML loader that turns CloudFormation short forms (!Ref, !Sub, !GetAtt …) into their long forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_FORMS.get(suffix, f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass with one added constructor


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str  # module.attribute
    timeout: int
    memory: int
    layers: tuple[str, ...]
    environment: dict[str, Any] = field(default_factory=dict)  # unresolved values (may hold intrinsics)

    @property
    def module_path(self) -> Path:
        return self.code_uri / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class ApiRoute:
    function: str
    method: str
    path: str


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str
    retries: int = 2  # Lambda's retries of a failed asynchronous run (EventInvokeConfig; 2 is Lambda's default)
    dead_letter_queue: str | None = None  # logical id of the queue a run that failed every retry goes to

    @property
    def seconds(self) -> float:
        return rate_seconds(self.expression)


def _resources(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for name, resource in _resources(template, "AWS::Serverless::Function").items():
        props = {**defaults, **resource["Properties"]}
        env = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        layers = tuple(layer["Ref"] for layer in props.get("Layers", []))
        specs[name] = FunctionSpec(
            logical_id=name,
            code_uri=ROOT / props["CodeUri"],
            handler=props["Handler"],
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            layers=layers,
            environment=env,
        )
    return specs


def api_routes(template: Mapping[str, Any]) -> list[ApiRoute]:
    routes = []
    for name, resource in _resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                routes.append(ApiRoute(name, event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return routes


def schedules(template: Mapping[str, Any]) -> list[Schedule]:
    found = []
    for name, resource in _resources(template, "AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                props = resource["Properties"]
                target = props.get("DeadLetterQueue", {}).get("TargetArn", {}).get("Fn::GetAtt", [None])[0]
                retries = props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2)
                found.append(Schedule(name, event["Properties"]["Schedule"], retries, target))
    return found


def binary_media_types(template: Mapping[str, Any]) -> list[str]:
    """API Gateway's binary types, with CloudFormation's '~1' escape turned back into '/'."""
    types: list[str] = []
    for api in _resources(template, "AWS::Serverless::Api").values():
        types.extend(t.replace("~1", "/") for t in api["Properties"].get("BinaryMediaTypes", []))
    return types


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"only rate() schedules are supported locally: {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class IntrinsicResolver:
    """Resolves Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and Fn::If against known parameters and
    physical resources.

    `conditions` are the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), evaluated on use.
    Fn::If resolves only the branch its condition picks, so the other may name what exists only in AWS (the API).
    """

    def __init__(
        self,
        parameters: Mapping[str, str],
        refs: Mapping[str, str],
        attributes: Callable[[str, str], str],
        conditions: Mapping[str, Any] | None = None,
    ):
        self._parameters = parameters
        self._refs = refs
        self._attributes = attributes
        self._conditions = conditions or {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise KeyError(f"no condition {name}")
        return self._truth(self._conditions[name])

    def _truth(self, value: Any) -> bool:
        ((key, arg),) = value.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = (str(self.resolve(v)) for v in arg)
            return left == right
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(v) for v in arg)
        if key == "Fn::Or":
            return any(self._truth(v) for v in arg)
        raise KeyError(f"cannot evaluate {key} locally")

    def _ref(self, name: str) -> str:
        if name in self._parameters:
            return str(self._parameters[name])
        if name in self._refs:
            return self._refs[name]
        raise KeyError(f"cannot resolve Ref {name}")

    def _sub_variable(self, name: str) -> str:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self._attributes(logical, attribute)
        return self._ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._attributes(arg[0], arg[1])
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(
                    r"\$\{([^}!]+)\}", lambda m: str(extra.get(m.group(1)) or self._sub_variable(m.group(1))), text
                )
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
        return {k: self.resolve(v) for k, v in value.items()}
