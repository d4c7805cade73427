"""The administrator's editor is driven by descriptions (gateway/api/console/admin.py); they
must say what the API takes: every field a form sends is a field of the model the API
validates, and every list the editor reads is a route the administrator may call."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from gateway.api.console.admin import RESOURCES, Field
from gateway.api.routes.care import Members
from gateway.api.routes.subscriptions import NewSubscription
from gateway.api.security import roles_for
from gateway.core.care import Consent, Device, Plan, Relative, Resident, Staff
from gateway.core.care import SupervisionSchedule as Supervision

MODELS: dict[str, type[BaseModel]] = {
    "residents": Resident, "devices": Device, "consents": Consent, "relatives": Relative,
    "plans": Plan, "supervision": Supervision, "staff": Staff, "subscriptions": NewSubscription,
}


def _inner(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``list[Model]`` or ``Model | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation) if get_origin(annotation) else ():
        found = _inner(arg)
        if found is not None:
            return found
    return None


def _check(model: type[BaseModel], fields: tuple[Field, ...], where: str) -> None:
    for f in fields:
        name = f.name.split(".")[0]
        assert name in model.model_fields, f"{where}: {model.__name__} has no field {name}"
        if f.type == "list":
            inner = _inner(model.model_fields[name].annotation)
            assert inner is not None, f"{where}.{name} is not a list of items"
            _check(inner, f.fields, f"{where}.{name}")


def test_every_field_the_forms_send_is_one_the_api_takes() -> None:
    for resource in RESOURCES:
        if resource.write == "none":
            assert resource.fields == (), resource.name
        elif resource.write == "team":
            assert {f.name for f in resource.fields} - {"id"} <= set(Members.model_fields)
        else:
            _check(MODELS[resource.name], resource.fields, resource.name)


def test_every_list_and_write_the_editor_makes_is_the_administrators() -> None:
    for resource in RESOURCES:
        assert "admin" in (roles_for("GET", resource.list) or set()), resource.name
        one = f"{resource.list}/x"
        writes = {"items": [("POST", resource.list), ("PATCH", one), ("DELETE", one)],
                  "team": [("PUT", one), ("DELETE", one)],
                  "create": [("POST", resource.list)], "none": []}[resource.write]
        for method, path in writes:
            assert "admin" in (roles_for(method, path) or set()), (method, path)
