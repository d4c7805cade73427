{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "fhir.json",
  "digest": "sha256:26fdd08a47851153554e849a409f98c6e2adb53876228d3ccac3de4b33053dab",
  "signature": "tMjzTTanI2J9NrclmjXi6s7TGsY2Uf1Bz2NpR8oyfX/MNK0YBUxLp79NQ5TQSJk0yqlNMiukZlv3xmxPRvTODw=="
}
