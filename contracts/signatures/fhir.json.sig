{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "fhir.json",
  "digest": "sha256:bec7a0f43fdec3cdf6299ee246008ea88eb2255bf21a8974fa6b4f94bda99fe9",
  "signature": "yswA0ZsYRhLEKfMFEfMjq2VlpqVtXd1nxoFnBuyZwRFFF0k/LTgfhdyzWM3osTfM8U1xBOcKMHbryzmKaorEDw=="
}
