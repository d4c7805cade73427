"""``navet keys new``, ``navet sign``, ``navet verify``: Ed25519 signatures (docs/signing.md).

Files (conformance reports, anything) are signed as they are: ``FILE.sig`` beside
``FILE``. A plugin is signed by signing its statement, ``<plugin>.json`` (what the
installed files are, :mod:`gateway.core.plugin_trust`), written into a signatures
directory: ``--out DIR`` or the first ``plugins.signatures`` of ``--config``.

``navet verify`` exits 0 when everything verifies, 3 when something does not
(unsigned, changed, untrusted key, forged), 1 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gateway.core.plugin_trust import TrustPolicy, with_builtin, write_statement
from gateway.core.security.signing import (
    SignatureError,
    TrustStore,
    load_private_key,
    new_key,
    sign_file,
    verify_file,
)
from gateway.errors import ConfigError

BROKEN = 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="signing keys (Ed25519)")
    ksub = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND")
    ksub.required = True
    new = ksub.add_parser("new", help="make a key pair: NAME.key (private) and NAME.pub")
    new.add_argument("--out", default=".", metavar="DIR", help="where (default: here)")
    new.add_argument("--name", default="signing", help="file name stem (default signing)")
    new.set_defaults(func=keys_new)

    sign = sub.add_parser("sign", help="sign files (FILE.sig) or a plugin's statement")
    sign.add_argument("files", nargs="*", metavar="FILE", help="files to sign")
    sign.add_argument("--key", required=True, metavar="KEY", help="private key (PEM)")
    sign.add_argument("--plugin", action="append", default=[], metavar="NAME",
                      help="sign the statement of this installed plugin (repeatable)")
    sign.add_argument("--all-plugins", action="store_true",
                      help="sign the statements of every installed plugin")
    sign.add_argument("--out", default=None, metavar="DIR",
                      help="signatures directory for --plugin (default: the first "
                      "plugins.signatures of --config)")
    sign.add_argument("--config", default=None, metavar="FILE", help="settings file")
    sign.set_defaults(func=sign_cmd)

    verify = sub.add_parser("verify", help="check signatures of files or plugins")
    verify.add_argument("files", nargs="*", metavar="FILE", help="files to verify")
    verify.add_argument("--plugin", action="append", default=[], metavar="NAME",
                        help="verify this installed plugin against its statement")
    verify.add_argument("--all-plugins", action="store_true",
                        help="verify every installed plugin")
    trust = verify.add_mutually_exclusive_group()
    trust.add_argument("--trust", default=None, metavar="DIR",
                       help="directory of trusted public keys (*.pub)")
    trust.add_argument("--key", default=None, metavar="PUB", help="one trusted public key")
    verify.add_argument("--config", default=None, metavar="FILE",
                        help="settings file: its plugins.trust and plugins.signatures")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=verify_cmd)


def keys_new(args: argparse.Namespace) -> int:
    private, public, key_id = new_key(Path(args.out), args.name)
    print(f"key {key_id}\n  private {private}  (keep it secret; it signs)\n"
          f"  public  {public}  (copy it into the trust store of whoever should accept "
          f"your signatures)")
    return 0


def _installed(names: list[str], every: bool) -> dict[str, str]:
    """Plugin name -> module, for the named installed plugins (or all of them)."""
    from gateway.core.plugins import build_plugin_manager

    modules = {i.name: i.module for i in build_plugin_manager().list() if i.installed}
    if every:
        return modules
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise ConfigError(f"no installed plugin named {', '.join(unknown)} (installed: "
                          f"{', '.join(sorted(modules)) or 'none'})")
    return {n: modules[n] for n in names}


def _settings(config: str | None):  # type: ignore[no-untyped-def]
    from gateway.core.settings import load_settings

    return load_settings(config) if config is not None else None


def sign_cmd(args: argparse.Namespace) -> int:
    if not args.files and not args.plugin and not args.all_plugins:
        raise ConfigError("navet sign needs FILE..., --plugin NAME or --all-plugins")
    key = load_private_key(Path(args.key))
    for name in args.files:
        print(f"signed {name} -> {sign_file(Path(name), key)}")
    if args.plugin or args.all_plugins:
        out = Path(args.out) if args.out else None
        if out is None:
            settings = _settings(args.config)
            if settings is None or not settings.plugins.signatures:
                raise ConfigError("navet sign --plugin needs --out DIR, or --config FILE "
                                  "with plugins.signatures")
            out = settings.plugins.signatures[0]
        for name, module in _installed(args.plugin, args.all_plugins).items():
            statement = write_statement(name, module, out)
            sign_file(statement, key)
            print(f"signed plugin {name} ({module}) -> {statement}")
    return 0


def _trust(args: argparse.Namespace) -> TrustPolicy:
    settings = _settings(args.config)
    if args.trust:
        store = TrustStore.from_dir(Path(args.trust))
    elif args.key:
        store = TrustStore.from_keys(Path(args.key))
    elif settings is not None and settings.plugins.trust is not None:
        store = TrustStore.from_dir(settings.plugins.trust)
    else:
        raise ConfigError("navet verify needs the keys you trust: --trust DIR, --key PUB, "
                          "or --config FILE with plugins.trust")
    signatures = settings.plugins.signatures if settings is not None else []
    return TrustPolicy(store, with_builtin(signatures), False)


def verify_cmd(args: argparse.Namespace) -> int:
    if not args.files and not args.plugin and not args.all_plugins:
        raise ConfigError("navet verify needs FILE..., --plugin NAME or --all-plugins")
    policy = _trust(args)
    results: list[dict[str, object]] = []
    for name in args.files:
        try:
            v = verify_file(Path(name), policy.trust)
        except SignatureError as err:
            results.append({"file": name, "status": err.kind, "key_id": err.key_id,
                            "message": str(err)})
        else:
            results.append({"file": name, "status": "signed", "key_id": v.key_id,
                            "message": f"{name}: signed by key {v.key_id} ({v.key_file})"})
    if args.plugin or args.all_plugins:
        for name, module in _installed(args.plugin, args.all_plugins).items():
            trust = policy.check(name, module)
            message = trust.message if trust.status != "signed" else \
                f"plugin {name} ({module}): {trust.message}"
            results.append({"plugin": name, **trust.as_dict(), "message": message})
    bad = [r for r in results if r["status"] != "signed"]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(("ok    " if r["status"] == "signed" else "FAIL  ") + str(r["message"]))
    return BROKEN if bad else 0
