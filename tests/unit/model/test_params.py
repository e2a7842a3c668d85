"""ParamSpec and coerce_param: how faults declare and type their parameters."""

from __future__ import annotations

import pytest

from chaoskit.model.params import FaultSignature, ParamSpec, coerce_param, signature_of


def test_coerce_types_and_units() -> None:
    """Each declared type turns a YAML value into the typed value faults receive."""
    assert coerce_param(ParamSpec("n", "int"), 3) == 3
    assert coerce_param(ParamSpec("n", "int"), 3.0) == 3
    assert coerce_param(ParamSpec("x", "float"), 2) == 2.0
    assert coerce_param(ParamSpec("d", "duration"), "500ms") == 0.5
    assert coerce_param(ParamSpec("b", "bytes"), "1KiB") == 1024
    assert coerce_param(ParamSpec("s", "signal"), "term") == "SIGTERM"
    assert coerce_param(ParamSpec("f", "fraction"), "50%") == 0.5
    assert coerce_param(ParamSpec("l", "list[str]"), "a") == ("a",)
    assert coerce_param(ParamSpec("c", "argv"), ["ls", "-l"]) == ("ls", "-l")
    assert coerce_param(ParamSpec("c", "argv"), "ls -l | wc") == "ls -l | wc"
    assert coerce_param(ParamSpec("s", "str"), 1) == "1"


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (ParamSpec("n", "int"), 1.5, "integer"),
        (ParamSpec("n", "int"), True, "integer"),
        (ParamSpec("b", "bool"), "yes", "true or false"),
        (ParamSpec("s", "str"), {"a": 1}, "string"),
        (ParamSpec("n", "int", min=0), -1, ">= 0"),
        (ParamSpec("x", "float", max=1.0), 1.5, "<= 1"),
        (ParamSpec("s", "str", choices=("upstream", "downstream")), "sideways", "one of upstream, downstream"),
        (ParamSpec("c", "argv"), [], "command"),
    ],
)
def test_coerce_rejects_with_what_was_expected(spec: ParamSpec, value: object, message: str) -> None:
    """A wrong type, an out-of-range value or a value outside the choices says what was expected."""
    with pytest.raises(ValueError, match=message):
        coerce_param(spec, value)


def test_spec_refuses_unknown_type_and_required_default() -> None:
    """A ParamSpec with an unknown type, or required with a default, is a programming error."""
    with pytest.raises(ValueError, match="unknown type"):
        ParamSpec("x", "complex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="required"):
        ParamSpec("x", "int", required=True, default=1)


def test_describe_for_the_catalogue_listing() -> None:
    """describe() gives type, requiredness, bounds and doc on one line."""
    text = ParamSpec("latency_ms", "int", required=True, min=0, doc="added delay").describe()
    assert text == "latency_ms (int, required, >= 0): added delay"
    assert (
        "default 'downstream'"
        in ParamSpec("stream", default="downstream", choices=("upstream", "downstream")).describe()
    )


def test_bare_param_list_is_a_signature_with_optional_target() -> None:
    """A bare list of ParamSpecs is accepted as a signature whose target is optional."""
    sig = signature_of([ParamSpec("a")])
    assert isinstance(sig, FaultSignature) and sig.target == "optional" and sig.param("a") is not None
    assert sig.param("b") is None


SIG = FaultSignature(
    params=(ParamSpec("path", "str", required=True), ParamSpec("percent", "fraction"), ParamSpec("bytes", "bytes"),
            ParamSpec("force", "bool", default=False), ParamSpec("argv", "argv")),
    one_of=(("percent", "bytes"),),
)


def test_complete_applies_defaults_and_freezes() -> None:
    """complete() fills in defaults, leaves out unset optional parameters and gives a read-only Params."""
    params = SIG.complete({"path": "/x", "percent": 0.5, "bytes": None})
    assert params == {"path": "/x", "percent": 0.5, "force": False} and params.get("bytes") is None
    with pytest.raises(TypeError):
        params["force"] = True  # type: ignore[index]


def test_parse_types_plain_values_and_round_trips_through_plain() -> None:
    """parse() types values as the loader would, and its plain() form parses back to the same Params."""
    params = SIG.parse({"path": "/x", "bytes": "1KiB", "argv": ["ls", "-l"]})
    assert params == {"path": "/x", "bytes": 1024, "force": False, "argv": ("ls", "-l")}
    assert params.plain()["argv"] == ["ls", "-l"]
    assert SIG.parse(params.plain()) == params and SIG.parse(params) is params


@pytest.mark.parametrize(("raw", "message"), [
    ({"bytes": 1}, "needs parameter path"),
    ({"path": "/x"}, "needs exactly one of percent | bytes; got none"),
    ({"path": "/x", "percent": 0.1, "bytes": 1}, "got percent and bytes"),
    ({"path": "/x", "bytes": "lots"}, "bytes: expected a size"),
    ({"path": "/x", "bytes": 1, "extra": 1}, "unknown parameter 'extra'"),
])
def test_parse_refuses_what_the_loader_refuses(raw: dict, message: str) -> None:
    """parse() refuses missing, conflicting, badly typed and unknown parameters, saying which."""
    with pytest.raises(ValueError, match=message):
        SIG.parse(raw)
