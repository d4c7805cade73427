{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "locks.json",
  "digest": "sha256:1aecec72b3bf4790b606252419dc997d3a51e6d7eb0ab7dda16ebe1a1643d306",
  "signature": "vXiOCj+eRpt/4L2a4gVX2J+zSOeCD6Td1wsXfnYaducwnbi2JnFdEnLc9Vze/OZbnjUJM0XXEzzpV95sNuNEAA=="
}
