"""``navet devices enroll|revoke|list``: client certificates for devices and bridges (Navet CA)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from gateway.core.security.ca import NavetCA

from .context import keyed_settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    devices = sub.add_parser("devices", help="device and bridge certificates (Navet CA)")
    dsub = devices.add_subparsers(dest="devices_command", metavar="SUBCOMMAND")
    dsub.required = True
    enroll = dsub.add_parser("enroll", help="issue a client certificate for MQTT over TLS")
    enroll.add_argument("--config", default=None, metavar="FILE",
                        help="settings file (its data_dir holds the CA in pki/)")
    enroll.add_argument("--id", required=True, dest="identity",
                        help="the identity (certificate CN and MQTT username)")
    enroll.add_argument("--tenant", required=True)
    enroll.add_argument("--topic", action="append", default=[],
                        help="topic filter it may publish on (repeatable)")
    enroll.add_argument("--read", action="append", default=[],
                        help="topic filter it may subscribe to, e.g. its command topic")
    enroll.add_argument("--adapter", default=None, metavar="NAME",
                        help="an out-of-process adapter: allow exactly its own topics "
                        "(navet/<tenant>/adapters/NAME/...; docs/adapters/out-of-process.md)")
    enroll.add_argument("--days", type=int, default=365)
    enroll.add_argument("--out", required=True, metavar="DIR",
                        help="where to write <id>.pem, <id>.key and ca.pem")
    enroll.set_defaults(func=enroll_device)
    revoke = dsub.add_parser("revoke", help="revoke an identity's certificate(s)")
    revoke.add_argument("--config", default=None, metavar="FILE")
    revoke.add_argument("--id", required=True, dest="identity")
    revoke.add_argument("--serial", default=None, help="one certificate (default: all)")
    revoke.set_defaults(func=revoke_device)
    listing = dsub.add_parser("list", help="enrolled identities")
    listing.add_argument("--config", default=None, metavar="FILE")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_devices)


def _ca(args: argparse.Namespace) -> NavetCA:
    settings = keyed_settings(args.config, f"navet devices {args.devices_command}")
    return NavetCA(settings.data_dir / "pki")


def enroll_device(args: argparse.Namespace) -> int:
    ca = _ca(args)
    topics, reads = list(args.topic), list(args.read)
    if args.adapter:
        from gateway.core.remote import RemoteTopics

        own = RemoteTopics(args.tenant, args.adapter)
        topics, reads = topics + own.adapter_writes(), reads + own.adapter_reads()
    issued = ca.enroll(args.identity, tenant=args.tenant, topics=topics,
                       read_topics=reads, days=args.days)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.identity}.pem").write_bytes(issued.cert_pem)
    key = out / f"{args.identity}.key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(issued.key_pem)
    (out / "ca.pem").write_bytes(issued.ca_pem)
    print(f"enrolled {args.identity} (serial {issued.serial}, valid until "
          f"{issued.not_after:%Y-%m-%d}); files in {out}")
    print(f"broker: acl_file {ca.acl_path}  crlfile {ca.crl_path}  cafile {ca.ca_cert_path}")
    return 0


def revoke_device(args: argparse.Namespace) -> int:
    serials = _ca(args).revoke(args.identity, args.serial)
    print(f"revoked {', '.join(serials)}; restart or reload the broker to apply the CRL")
    return 0


def list_devices(args: argparse.Namespace) -> int:
    records = _ca(args).identities()
    if args.json:
        print(json.dumps([r.__dict__ for r in records], indent=2))
        return 0
    for r in records:
        valid = [s for s in r.serials if s not in r.revoked]
        print(f"{r.identity:<32} {r.tenant:<16} certs {len(valid)} valid/{len(r.serials)}  "
              f"publishes {', '.join(r.topics)}")
    return 0
