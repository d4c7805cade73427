{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "stigfinnare.json",
  "digest": "sha256:6205bcaaeb25d270a7d5f613250f2f864e24cf3900bd4e883fd747e5d2935163",
  "signature": "tssP5BhDRlCeUF/GxBT4fOXNxEPqQgLuefMa4hTnJ0/VCCqnSgtX/IrA/pTCRJeR3MtYE/VcslOIkwUBuQTGBQ=="
}
