"""The follow-up screen: ``GET /console/uppfoljning`` (server-rendered HTML, no script).

A self-contained route module: it reads the same API anyone may call
(``/api/v1/tenants``, ``/api/v1/followup/report``), in process, with the request's own
credentials (its ``Authorization`` header, cookies or ``access_token``), so the screen can
never show what the caller could not read from the API, and a console shell can hook it
in as it is. The indicators are shown with traffic lights (colour and words) and a radar
chart per area; the tables carry every number the charts draw. Texts come from the
console's one message catalogue (``gateway/web/messages/<lang>.json``, keys
``followup.*``): Swedish unless ``lang=en`` is asked for, or the console's language cookie
says English.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.core.care import TECHNOLOGIES

from ..console.i18n import LANGUAGES, Translator
from ..console.render import to_signin, viewer_of
from ..console.screens import home_for
from ..radar import Axis, attainment, radar_svg

READERS = frozenset({"analyst", "region", "admin", "auditor"})  # as the API's rules say

router = APIRouter(include_in_schema=False)

FORWARDED = ("authorization", "cookie", "x-navet-actor")
LANG_COOKIE = "navet_lang"
"""The console's remembered language choice (sv or en); ``?lang=`` wins over it."""


def text(key: str, lang: str, **values: str) -> str:
    """The follow-up screen's message ``followup.<key>`` in ``lang``, fields filled in."""
    return Translator(lang)(f"followup.{key}", **values)


async def _api(request: Request, path: str, params: dict[str, str]) -> httpx.Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
    token = request.query_params.get("access_token")
    if token:
        params = {**params, "access_token": token}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://navet") as client:
        return await client.get(path, params=params, headers=headers)


@router.get("/console/uppfoljning", response_class=HTMLResponse, response_model=None)
async def followup_page(
    request: Request,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    lang: Literal["sv", "en"] | None = None,
) -> Response:
    # A person without a console session signs in first; a machine with a token (header or
    # ?access_token=) is judged by the API calls below, which carry its credentials.
    viewer = await viewer_of(request)
    machine = "authorization" in request.headers or "access_token" in request.query_params
    if viewer is None and not machine:
        return to_signin(request)
    if viewer is not None and not viewer.roles & READERS:
        return RedirectResponse(home_for(viewer.roles), status_code=303)
    if lang is None:  # Swedish whatever the browser asks for, unless the person chose
        lang = "en" if request.cookies.get(LANG_COOKIE) == "en" else "sv"
    tenants_r = await _api(request, "/api/v1/tenants", {})
    if tenants_r.status_code != 200:
        return _error(lang, tenants_r)
    tenants = tenants_r.json()
    if not tenants:
        return _page(lang, text("title", lang), f"<p>{escape(text('no_tenants', lang))}</p>")
    chosen = tenant or tenants[0]["id"]
    params = {"tenant": chosen, "lang": lang}
    if first:
        params["from"] = first.isoformat()
    if last:
        params["to"] = last.isoformat()
    report_r = await _api(request, "/api/v1/followup/report", params)
    if report_r.status_code != 200:
        return _error(lang, report_r)
    return _page(lang, f"{text('title', lang)} \u2013 {report_r.json()['name']}",
                 _body(report_r.json(), tenants, params, lang))


def _error(lang: str, response: httpx.Response) -> HTMLResponse:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text[:300]
    body = (f'<p role="alert" class="error">{escape(text("error", lang))}: '
            f"{response.status_code} {escape(detail)}</p>")
    return _page(lang, text("title", lang), body, status=response.status_code)


def _page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} \u2013 {escape(Translator(lang)('app.name'))}</title>"
            '<link rel="stylesheet" href="/static/uppfoljning.css"></head><body>'
            f'<a class="skip" href="#main">{escape(text("skip", lang))}</a>'
            f'<header><h1>{escape(title)}</h1></header><main id="main">{body}</main>'
            "</body></html>")
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _fmt(value: Any, lang: str) -> str:
    if value is None:
        return text("no_value", lang)
    if isinstance(value, float):
        shown = f"{value:.2f}".rstrip("0").rstrip(".")
        return shown.replace(".", ",") if lang == "sv" else shown
    return str(value)


def _light(status: str, lang: str) -> str:
    return (f'<span class="light {status}" aria-hidden="true"></span>'
            f'<span class="status-text">{escape(text("status_" + status, lang))}</span>')


def _body(report: dict[str, Any], tenants: list[dict[str, str]], params: dict[str, str],
          lang: str) -> str:
    def t(key: str, **kw: str) -> str:
        return escape(text(key, lang, **kw))

    options = "".join(
        f'<option value="{escape(x["id"])}"{" selected" if x["id"] == report["tenant"] else ""}>'
        f'{escape(x["name"])}</option>' for x in tenants)
    period = report["period"]
    out = [
        '<form class="filters" method="get" action="/console/uppfoljning">',
        f'<label>{t("municipality")} <select name="tenant">{options}</select></label>',
        f'<label>{t("from")} <input type="date" name="from" value="{period["from"]}"></label>',
        f'<label>{t("to")} <input type="date" name="to" value="{period["to"]}"></label>',
        f'<label>{t("language")} <select name="lang">'
        + "".join(f'<option value="{code}" lang="{code}"{" selected" if lang == code else ""}>'
                  f'{escape(Translator(code)("lang.name"))}</option>' for code in LANGUAGES)
        + f"</select></label><button type=\"submit\">{t('show')}</button></form>",
        f'<p class="meta">{t("period")}: {period["from"]} &ndash; {period["to"]} · '
        f'{t("baseline")}: {report["baseline"]}</p>',
    ]
    query = {k: v for k, v in params.items() if k != "lang"}
    links = [("csv_indicators", "/api/v1/followup/indicators", {"format": "csv", "lang": lang}),
             ("csv_breakdown", "/api/v1/followup/breakdown", {"format": "csv"}),
             ("csv_survey", "/api/v1/followup/survey",
              {"format": "csv", "date": period["to"], "tenant": report["tenant"]})]
    out.append(f'<nav aria-label="{t("downloads")}"><h2>{t("downloads")}</h2><ul>')
    for key, path, extra in links:
        q = {**({"tenant": query["tenant"]} if key == "csv_survey" else query), **extra}
        out.append(f'<li><a href="{path}?{escape(urlencode(q))}" download>{t(key)}</a></li>')
    out.append("</ul></nav>")
    by_area: dict[str, list[dict[str, Any]]] = {}
    for ind in report["indicators"]:
        by_area.setdefault(ind["area"], []).append(ind)
    out.append('<div class="areas">')
    for area, rows in by_area.items():
        name = report["areas"].get(area, area)
        axes = [Axis(r["label"], ratio, r["status"]) for r in rows
                if (ratio := attainment(r["value"], r["target"], r["direction"])) is not None]
        out.append(f'<section class="area" aria-labelledby="area-{area}">'
                   f'<h2 id="area-{area}">{escape(name)}</h2>')
        if axes:
            out.append(radar_svg(axes, text("radar_title", lang, area=name),
                                 text("radar_desc", lang)))
        else:
            out.append(f'<p class="empty">{t("radar_none")}</p>')
        out.append(f'<table><caption class="sr-only">{escape(name)}</caption><thead><tr>'
                   f'<th scope="col">{t("indicator")}</th><th scope="col">{t("value")}</th>'
                   f'<th scope="col">{t("target")}</th><th scope="col">{t("status")}</th>'
                   "</tr></thead><tbody>")
        for r in rows:
            note = f'<small>{escape(r["note"])}</small>' if r["note"] else ""
            out.append(f'<tr data-indicator="{escape(r["id"])}" data-status="{r["status"]}">'
                       f'<th scope="row">{escape(r["label"])}{note}</th>'
                       f'<td class="num">{_fmt(r["value"], lang)} {escape(r["unit"])}</td>'
                       f'<td class="num">{_fmt(r["target"], lang)}</td>'
                       f"<td>{_light(r['status'], lang)}</td></tr>")
        out.append("</tbody></table></section>")
    out.append("</div>")
    out.append(_handling(report, lang))
    out.append(_users(report, lang))
    out.append(_vendors(report, lang))
    return "".join(out)


def _handling(report: dict[str, Any], lang: str) -> str:
    rows = []
    for m in report["alarm_handling"]["months"]:
        cells = "".join(f'<td class="num">{_fmt(m[s]["median_s"], lang)} / '
                        f'{_fmt(m[s]["p90_s"], lang)}</td>'
                        for s in ("acknowledged", "attended", "closed"))
        rows.append(f'<tr><th scope="row">{m["month"]}</th><td class="num">{m["alarms"]}</td>'
                    f"{cells}</tr>")
    head = "".join(f'<th scope="col">{escape(text(k, lang))}</th>'
                   for k in ("month", "alarms", "ack", "attended", "closed"))
    return (f'<section><h2>{escape(text("handling", lang))}</h2><table><thead><tr>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _users(report: dict[str, Any], lang: str) -> str:
    head = "".join(f'<th scope="col">{escape(text("tech_" + tech, lang))}</th>'
                   for tech in TECHNOLOGIES)
    base = report["users"]["baseline"]
    rows = [f'<tr><th scope="row">{escape(text("baseline", lang))} {report["baseline"]}</th>'
            + "".join(f'<td class="num">{_fmt(base[tech], lang)}</td>' for tech in TECHNOLOGIES)
            + "</tr>"]
    for m in report["users"]["months"]:
        rows.append(f'<tr><th scope="row">{m["month"]}</th>' + "".join(
            f'<td class="num">{_fmt(m[tech], lang)}</td>' for tech in TECHNOLOGIES) + "</tr>")
    return (f'<section><h2>{escape(text("users", lang))}</h2>'
            f'<p class="meta">{escape(text("users_note", lang))}</p><div class="scroll">'
            f'<table><thead><tr><th scope="col">{escape(text("month", lang))}</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>")


def _vendors(report: dict[str, Any], lang: str) -> str:
    head = "".join(f'<th scope="col">{escape(text(k, lang))}</th>'
                   for k in ("vendor", "devices", "silent", "availability"))
    rows = "".join(
        f'<tr><th scope="row">{escape(v["vendor"])}</th><td class="num">{v["devices"]}</td>'
        f'<td class="num">{v["silent_alarms"]}</td>'
        f'<td class="num">{_fmt(v["availability_pct"], lang)}</td></tr>'
        for v in report["vendors"]["vendors"])
    return (f'<section><h2>{escape(text("vendors", lang))}</h2><table><thead><tr>{head}'
            f"</tr></thead><tbody>{rows}</tbody></table></section>")
