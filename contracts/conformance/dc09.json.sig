{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "dc09.json",
  "digest": "sha256:3d7664fc59655213c7908691a21e8a1fa1b5bfc7ce7023191afff330c1059599",
  "signature": "reET9XjCF7O8yayB/GjxN3xtDUjpKnON31k1EeyWBtYsMbpLdf9SjyMTxyVspjGmVWvDQgZ4af+7EUn7h8cxBw=="
}
