"""The FHIR R5 facade over HTTP, at ``/fhir/r5`` (see docs/fhir.md).

``metadata``; read ``/{type}/{id}`` and search ``/{type}?...`` for the types in
:data:`gateway.fhir.codes.RESOURCE_TYPES`; SubscriptionTopic read/search;
Subscription create/read/search, ``$status``, ``$events``,
``$get-ws-binding-token`` and the websocket at ``/fhir/r5/ws``; ``$event-message`` for
one event. Every answer is ``application/fhir+json``; every error is an
OperationOutcome (the route class below converts FastAPI's errors, so the tenant
check stays the shared :data:`TenantScope`, exactly as on the rest of the API).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, WebSocket, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.websockets import WebSocketDisconnect

from gateway.errors import ConfigError, SubscriptionLimitError
from gateway.fhir import RESOURCE_TYPES, FhirRepository, FhirValidationError
from gateway.fhir.bundles import FHIR_JSON, message, operation_outcome, searchset
from gateway.fhir.capability import capability_statement
from gateway.fhir.checks import validate
from gateway.fhir.repository import patient_for
from gateway.fhir.search import SearchError, SearchQuery
from gateway.fhir.subscriptions import SubscriptionRefused, subscriptions_for
from gateway.fhir.topics import TOPICS

from ..deps import GatewayDep, StoreDep, TenantScope, get_store
from ..security import principal_of

# Who may create a Subscription that makes Navet connect somewhere (rest-hook): the tenant's
# administrators. Operators may create websocket Subscriptions, which only answer clients.
OUTSIDE_REACHING = frozenset({"rest-hook"})
MAY_REACH_OUTSIDE = frozenset({"admin"})

log = logging.getLogger(__name__)

ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
              405: "not-supported", 406: "not-supported", 409: "conflict", 415: "not-supported",
              422: "processing", 503: "transient"}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def outcome(status_code: int, text: str, code: str | None = None) -> FhirResponse:
    return FhirResponse(operation_outcome([(code or ISSUE_CODE.get(status_code, "exception"),
                                            text)]), status_code=status_code)


class FhirRoute(APIRoute):
    """Answers every error of a FHIR route with an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except HTTPException as exc:  # incl. 401/403 from the app's authentication
                status_code = 400 if exc.status_code == 422 else exc.status_code
                response = outcome(status_code, str(exc.detail))
                response.headers.update(exc.headers or {})  # WWW-Authenticate on a 401
                return response
            except RequestValidationError as exc:
                text = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                 for e in exc.errors())
                return outcome(400, text)
            except SearchError as exc:
                return outcome(400, str(exc))
            except FhirValidationError as exc:  # Navet built something invalid: our bug
                log.error("FHIR facade produced an invalid resource: %s", exc)
                return outcome(500, f"Navet could not build a valid resource: {exc}",
                               "exception")
            except Exception:  # still a FHIR answer; the details go to the log only
                log.exception("FHIR %s %s failed", request.method, request.url.path)
                return outcome(500, "internal error; the gateway log has the details",
                               "exception")

        return handler


router = APIRouter(prefix="/fhir/r5", tags=["fhir"], route_class=FhirRoute,
                   default_response_class=FhirResponse)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir/r5"


def _format_ok(fmt: str | None) -> None:
    if fmt not in (None, "json", "application/json", FHIR_JSON):
        raise HTTPException(status.HTTP_406_NOT_ACCEPTABLE,
                            f"_format {fmt!r}: Navet's FHIR facade speaks JSON only")


# --------------------------------------------------------------------------- conformance


@router.get("/metadata", summary="CapabilityStatement")
async def metadata(request: Request, gateway: GatewayDep) -> FhirResponse:
    return FhirResponse(capability_statement(base_url(request), gateway.clock.now()))


@router.get("/SubscriptionTopic", summary="Search SubscriptionTopics")
async def topics(request: Request, tenant: TenantScope,
                 _id: Annotated[str | None, Query(alias="_id")] = None) -> FhirResponse:
    wanted = set(_id.split(",")) if _id else None
    found = [t.resource_json() for t in TOPICS.values() if wanted is None or t.id in wanted]
    return FhirResponse(searchset(base_url(request), "SubscriptionTopic",
                                  [validate(r) for r in found], dict(request.query_params),
                                  offset=0, count=len(found) or 1, more=False,
                                  total=len(found)))


@router.get("/SubscriptionTopic/{topic_id}", summary="Read a SubscriptionTopic")
async def topic(topic_id: str, tenant: TenantScope) -> FhirResponse:
    found = TOPICS.get(topic_id)
    if found is None:
        raise HTTPException(404, f"SubscriptionTopic/{topic_id} is not known; "
                                 f"known: {', '.join(sorted(TOPICS))}")
    return FhirResponse(validate(found.resource_json()))


# --------------------------------------------------------------------------- subscriptions


@router.post("/Subscription", status_code=201, summary="Create a Subscription")
async def create_subscription(request: Request, gateway: GatewayDep,
                              tenant: TenantScope) -> FhirResponse:
    try:
        body = json.loads(await request.body())
    except ValueError as err:
        raise HTTPException(400, f"the body is not JSON: {err}") from err
    channel = body.get("channelType") if isinstance(body, dict) else None
    code = channel.get("code") if isinstance(channel, dict) else None
    if code in OUTSIDE_REACHING and not principal_of(request).has_any(MAY_REACH_OUTSIDE):
        raise HTTPException(403, f"a {code} Subscription makes Navet connect to the endpoint "
                                 "it names: only an admin may create one (operators may "
                                 "create websocket Subscriptions)")
    manager = subscriptions_for(gateway)
    try:
        created = await manager.create(tenant.id, body, base_url(request))
    except SubscriptionRefused as err:
        return FhirResponse(operation_outcome(err.issues), status_code=422)
    except SubscriptionLimitError as err:
        return outcome(409, str(err), "too-costly")  # a limit of the deployment
    except ConfigError as err:
        return outcome(422, str(err), "processing")
    location = f"{base_url(request)}/Subscription/{created['id']}"
    return FhirResponse(created, status_code=201, headers={"Location": location})


@router.get("/Subscription", summary="Search Subscriptions")
async def list_subscriptions(request: Request, gateway: GatewayDep, store: StoreDep,
                             tenant: TenantScope) -> FhirResponse:
    query = SearchQuery.parse("Subscription", request.query_params.multi_items(),
                              lambda fid: None)
    query.paging(request.query_params.get("_count"), request.query_params.get("_offset"))
    found = [s for s in await store.read(
        lambda conn: subscriptions_for(gateway).all(tenant.id)) if query.matches(s)]
    page = found[query.offset:query.offset + query.count]
    return FhirResponse(searchset(base_url(request), "Subscription", page,
                                  dict(request.query_params), offset=query.offset,
                                  count=query.count,
                                  more=len(found) > query.offset + query.count,
                                  total=len(found)))


@router.get("/Subscription/{fid}", summary="Read a Subscription (with its current status)")
async def read_subscription(fid: str, gateway: GatewayDep, store: StoreDep,
                            tenant: TenantScope) -> FhirResponse:
    found = await store.read(lambda conn: subscriptions_for(gateway).read(tenant.id, fid))
    if found is None:
        raise HTTPException(404, f"Subscription/{fid} does not exist in tenant {tenant.id}")
    return FhirResponse(found)


@router.post("/Subscription/{fid}/$get-ws-binding-token",
             summary="A token to bind a websocket to this Subscription")
@router.get("/Subscription/{fid}/$get-ws-binding-token", operation_id="get_ws_binding_token",
            summary="A token to bind a websocket to this Subscription (GET form)")
async def ws_binding_token(fid: str, request: Request, gateway: GatewayDep, store: StoreDep,
                           tenant: TenantScope) -> FhirResponse:
    manager = subscriptions_for(gateway)
    found = await store.read(lambda conn: manager.read(tenant.id, fid))
    if found is None:
        raise HTTPException(404, f"Subscription/{fid} does not exist in tenant {tenant.id}")
    if found["channelType"]["code"] != "websocket":
        raise HTTPException(400, f"Subscription/{fid} uses channel "
                                 f"{found['channelType']['code']}, not websocket")
    ws_url = base_url(request).replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return FhirResponse(manager.issue_token(tenant.id, fid, ws_url + "/ws"))


async def _sink(gateway: Any, tenant: str, fid: str) -> Any:
    manager = subscriptions_for(gateway)
    found = await get_store(gateway).read(lambda conn: manager.read(tenant, fid))
    sink = manager.sink(fid) if found is not None else None
    if sink is None:
        raise HTTPException(404, f"Subscription/{fid} does not exist (or is off) in tenant "
                                 f"{tenant}")
    return sink


@router.get("/Subscription/{fid}/$status", summary="The subscription's status now")
async def subscription_status(fid: str, gateway: GatewayDep,
                              tenant: TenantScope) -> FhirResponse:
    sink = await _sink(gateway, tenant.id, fid)
    return FhirResponse(await sink.notification("query-status"))


@router.get("/Subscription/{fid}/$events",
            summary="Notifications already sent, by event number (catch up after a gap)")
async def subscription_events(
    fid: str, gateway: GatewayDep, tenant: TenantScope,
    since: Annotated[int | None, Query(alias="eventsSinceNumber", ge=1, le=2**62)] = None,
    until: Annotated[int | None, Query(alias="eventsUntilNumber", ge=1, le=2**62)] = None,
    content: Annotated[str | None, Query(pattern="^(empty|id-only|full-resource)$")] = None,
) -> FhirResponse:
    sink = await _sink(gateway, tenant.id, fid)
    return FhirResponse(await sink.replay(since, until, content))


@router.websocket("/ws")
async def subscription_socket(websocket: WebSocket) -> None:
    """R5 websocket channel: send ``bind-with-token: <token>``, then read notifications."""
    gateway = getattr(websocket.app.state, "gateway", None)
    await websocket.accept()
    if gateway is None:
        await websocket.close(code=1013, reason="the gateway is not running")
        return
    manager = subscriptions_for(gateway)
    sinks: list[Any] = []
    try:
        while True:
            text = (await websocket.receive_text()).strip()
            command, _, token = text.partition(":")
            if command.strip() != "bind-with-token":
                await websocket.send_text(json.dumps(operation_outcome(
                    [("invalid", "expected 'bind-with-token: <token>'")])))
                continue
            binding = manager.redeem(token.strip())
            sink = manager.sink(binding.subscription) if binding else None
            if sink is None:
                await websocket.send_text(json.dumps(operation_outcome(
                    [("security", "unknown or expired binding token")])))
                continue
            await sink.attach(websocket)
            sinks.append(sink)
    except WebSocketDisconnect:
        pass
    finally:
        for sink in sinks:
            sink.detach(websocket)


# --------------------------------------------------------------------------- messaging


@router.get("/$event-message", summary="One Navet event as a FHIR message Bundle")
async def event_message(request: Request, gateway: GatewayDep, store: StoreDep,
                        tenant: TenantScope,
                        event: Annotated[str, Query(description="Navet event id.")],
                        _format: Annotated[str | None, Query(alias="_format")] = None,
                        ) -> FhirResponse:
    _format_ok(_format)
    repo = FhirRepository(gateway, tenant.id)

    def build() -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]] | None:
        stored = store.get_event(tenant.id, event)
        if stored is None:
            return None
        resources = repo.event_resources(stored.event)
        context: list[dict[str, Any]] = []
        seen = {f"{r['resourceType']}/{r['id']}" for r in resources}
        for res in resources:
            for ref in _refs(res):
                rtype, _, fid = ref.partition("/")
                if ref in seen or rtype not in ("Patient", "Device", "Location"):
                    continue
                seen.add(ref)
                found = repo.read(rtype, fid)
                if found is not None:
                    context.append(found)
        return stored.event, resources, context

    built = await store.read(lambda conn: build())
    if built is None:
        raise HTTPException(404, f"no event {event!r} in tenant {tenant.id}")
    ev, resources, context = built
    if not resources:
        raise HTTPException(422, f"event {event} ({ev.type}) has no FHIR representation")
    return FhirResponse(message(base_url(request), tenant.id, ev, resources,
                                gateway.clock.now(), context))


def _refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    return []


# --------------------------------------------------------------------------- read / search


def _known_type(resource_type: str) -> None:
    if resource_type not in RESOURCE_TYPES:
        raise HTTPException(404, f"resource type {resource_type!r} is not served here; "
                                 f"supported: {', '.join(RESOURCE_TYPES)}, Subscription, "
                                 "SubscriptionTopic (see /fhir/r5/metadata)")


@router.get("/{resource_type}", summary="Search one resource type")
async def search(resource_type: str, request: Request, gateway: GatewayDep, store: StoreDep,
                 tenant: TenantScope) -> FhirResponse:
    _known_type(resource_type)
    params = request.query_params
    _format_ok(params.get("_format"))
    query = SearchQuery.parse(resource_type, params.multi_items(),
                              lambda fid: patient_for(gateway, tenant.id, fid))
    query.paging(params.get("_count"), params.get("_offset"))
    repo = FhirRepository(gateway, tenant.id)
    page = await store.read(lambda conn: repo.search(query))
    return FhirResponse(searchset(base_url(request), resource_type, page.resources,
                                  dict(params), offset=query.offset, count=query.count,
                                  more=page.more, total=page.total))


@router.get("/{resource_type}/{fid}", summary="Read one resource")
async def read(resource_type: str, fid: str, gateway: GatewayDep, store: StoreDep,
               tenant: TenantScope) -> FhirResponse:
    _known_type(resource_type)
    repo = FhirRepository(gateway, tenant.id)
    found = await store.read(lambda conn: repo.read(resource_type, fid))
    if found is None:
        raise HTTPException(404, f"{resource_type}/{fid} does not exist in tenant {tenant.id}")
    return FhirResponse(found)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def unsupported(path: str, request: Request) -> FhirResponse:
    if request.method == "GET":
        return outcome(404, f"/fhir/r5/{path} is not a supported FHIR interaction "
                            "(see /fhir/r5/metadata)")
    return outcome(405, f"{request.method} /fhir/r5/{path} is not supported: the facade "
                        "is read-only except for creating Subscriptions", "not-supported")
