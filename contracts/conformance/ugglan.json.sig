{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "ugglan.json",
  "digest": "sha256:13e1068e5c4ec81ffcc048cdbcc00c12a802e0f27ea81c1a52e9dcdc90354494",
  "signature": "yrde/laTBsEI/0XS8Btl3qv9kZLLf+sJNElC2gRVWRYRR3RZBxqo6nPkmTBijYdou7DzHMbV2SeJ5IVbMbk/Dg=="
}
