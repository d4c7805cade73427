"""No screen says a word that is not in the message catalogue.

Every word a person reads comes from ``gateway/web/messages/<lang>.json`` (issue 13, §6),
so a screen is never half Swedish, half English. A simple scan keeps it so: in the
templates, text between tags and the readable attributes (``aria-label``, ``title``,
``placeholder``, ``alt``) hold nothing but template expressions; in the pages' scripts,
what is put on screen (``el(tag, …)``, ``textContent =``, ``label =``, ``svg(tag, {…},
…)``, text nodes, readable attributes) holds no letters outside ``${…}``, and no string
literal holds Swedish letters at all; the follow-up screen's HTML (built in Python) has no
letters between its tags except what its expressions fill in. Each scanner is also run on
a sample with a literal in it, so the scan can fail.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from gateway.api.console.i18n import LANGUAGES, MESSAGES_DIR
from gateway.api.console.render import TEMPLATES
from gateway.api.routes import followup_page
from gateway.api.routes.live_view import WEB_DIR

LETTERS = re.compile(r"[A-Za-zÅÄÖåäöÉé]")
SWEDISH = re.compile(r"[ÅÄÖåäö]")
READABLE = r"(?:aria-label|aria-description|title|placeholder|alt)"


# ----------------------------------------------------------------------------- templates

def template_literals(source: str) -> list[str]:
    """Words in a Jinja template that do not come from an expression."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", source, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S | re.I)
    found = [m.strip() for m in re.findall(r">([^<]*)<", text) if LETTERS.search(m)]
    found += [v for v in re.findall(rf'\b{READABLE}="([^"]*)"', text) if LETTERS.search(v)]
    return found


# ----------------------------------------------------------------------------- scripts

def _strip_js_comments(src: str) -> str:
    out, i, quote = [], 0, ""
    while i < len(src):
        c = src[i]
        if quote:
            out.append(c)
            if c == "\\":
                out.append(src[i + 1:i + 2])
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
            out.append(c)
        elif src.startswith("//", i) and src[max(0, i - 1)] != ":":
            i = src.find("\n", i)
            if i < 0:
                break
            continue
        elif src.startswith("/*", i):
            i = src.index("*/", i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def read_literal(code: str, i: int) -> tuple[str, int]:
    """The string literal starting at ``code[i]`` (a quote or backtick) without its
    ``${…}`` parts, and the index after it; template literals may nest in ``${…}``."""
    quote, out, i = code[i], [], i + 1
    while i < len(code):
        c = code[i]
        if c == "\\":
            out.append(code[i:i + 2])
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        elif quote == "`" and code.startswith("${", i):
            i = _skip_expression(code, i + 2)
        else:
            out.append(c)
            i += 1
    return "".join(out), i


def _skip_expression(code: str, i: int) -> int:
    depth = 1
    while i < len(code) and depth:
        c = code[i]
        if c in "\"'`":
            i = read_literal(code, i)[1]
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    return i


SINKS = [  # each ends where the literal put on screen starts
    re.compile(r"\bel\(\s*[\"'][\w-]+[\"']\s*,\s*(?=[\"'`])"),
    re.compile(r"\bsvg\(\s*[\"'][\w-]+[\"']\s*,\s*\{[^{}]*\}\s*,\s*(?=[\"'`])"),
    re.compile(r"\.(?:textContent|innerText|label|title|placeholder|alt)\s*=\s*(?=[\"'`])"),
    re.compile(r"\bcreateTextNode\(\s*(?=[\"'`])"),
    re.compile(r"\bsetAttribute\(\s*[\"']" + READABLE + r"[\"']\s*,\s*(?=[\"'`])"),
    re.compile(r"\b(?:alert|confirm|prompt)\(\s*(?=[\"'`])"),
]


def script_literals(source: str) -> list[str]:
    """Words a page script puts on screen that do not come from the catalogue or data."""
    code = _strip_js_comments(source)
    found = []
    for sink in SINKS:
        for m in sink.finditer(code):
            literal = read_literal(code, m.end())[0]
            if LETTERS.search(literal):
                found.append(f"{m.group(0)}{literal}")
    i = 0
    while i < len(code):  # every string literal: no Swedish letters
        if code[i] in "\"'`":
            literal, i = read_literal(code, i)
            if SWEDISH.search(literal):
                found.append(literal)
        else:
            i += 1
    return found


# ----------------------------------------------------------------------------- HTML in Python

def python_html_literals(source: str) -> list[str]:
    """Text between tags in a module's string constants (f-string pieces included)."""
    found = []
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef
                                | ast.ClassDef)
                  and n.body and isinstance(n.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings):
            piece = node.value
            segments = re.findall(r">([^<>]*)<", piece)
            segments += re.findall(r"^([^<>\"=]*)</", piece)  # a text node's end
            segments += re.findall(r"<[a-z][^<>]*>([^<>{}\"]*)$", piece)  # one's start
            found += [s.strip() for s in segments if LETTERS.search(s)]
    return found


# ----------------------------------------------------------------------------- tests

def test_the_scanners_find_a_literal_word() -> None:
    assert template_literals('<h1>{{ t("x") }}</h1><p>Larmkö</p>') == ["Larmkö"]
    assert template_literals('<button aria-label="Stäng">{{ t("x") }}</button>') == ["Stäng"]
    assert template_literals("<p>{{ t('a') }} \u2013 {{ n }}</p>") == []
    assert script_literals('x.append(el("td", "Okänd"));') != []
    assert script_literals('node.textContent = `Larm ${n}`;') != []
    assert script_literals('node.textContent = `${t("a")} \u2013 ${n}`;') == []
    assert script_literals('root.append(svg("text", { x: 1 }, "North"));') != []
    assert script_literals('const y = "kvitterat"; // åäö in a comment is fine') == []
    assert script_literals('const y = "Kö";') != []
    assert python_html_literals("x = f'<option>{a}</option><b>Svenska</b>'") == ["Svenska"]
    assert python_html_literals("x = f'<option value=\"sv\">Svenska</option>'") == ["Svenska"]
    assert python_html_literals("x = f'<p>{t(\"a\")}: {b}</p>'") == []


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_no_template_has_a_word_of_its_own(template: Path) -> None:
    assert template_literals(template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("script", sorted(WEB_DIR.glob("*.js")), ids=lambda p: p.name)
def test_no_page_script_puts_a_word_of_its_own_on_screen(script: Path) -> None:
    assert script_literals(script.read_text(encoding="utf-8")) == []


def test_the_follow_up_screen_takes_its_words_from_the_one_catalogue() -> None:
    source = Path(followup_page.__file__).read_text(encoding="utf-8")
    assert python_html_literals(source) == []
    assert not (WEB_DIR / "i18n").exists(), "a second catalogue is back"
    catalogues = {lang: json.loads((MESSAGES_DIR / f"{lang}.json").read_text("utf-8"))
                  for lang in LANGUAGES}
    whole = r"""\b(?:text|t)\(\s*["'](\w+)["']\s*[,)]"""  # text("key", …), t("key")
    used = {f"followup.{k}" for k in re.findall(whole, source)}
    used |= {f"followup.status_{s}" for s in ("green", "yellow", "red", "none")}
    from gateway.core.care import TECHNOLOGIES

    used |= {f"followup.tech_{tech}" for tech in TECHNOLOGIES}
    assert len(used) > 30, "the pattern is wrong"
    for lang, messages in catalogues.items():
        assert sorted(used - set(messages)) == [], lang
        assert set(messages) == set(catalogues["sv"]), lang
