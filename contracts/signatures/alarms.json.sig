{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "alarms.json",
  "digest": "sha256:8399c61e8e0d853dde03b1c38aaa8091e8cbbdc2f4e355e2fadce051f2a96857",
  "signature": "TNN0pVcf899c/y72qNpnjrWINl9JXH4ZpBAd+NKg8AN2B+FINRFxmsnk/lL6reF+TDvpqTolURKCZOggLtysBw=="
}
