{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "fhir.json",
  "digest": "sha256:266a274c49271f263f7e3f39d0b618ea4b0832dca92908d50628cb9a06fb5553",
  "signature": "BXIT/9OndnQTO7PSgutxC8L5WrpHTh+Je44d2/NccRkwiIsSdVKozrhYZSvKe2tefike0jdF3i1cbbptiyHkBg=="
}
