{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "locks.json",
  "digest": "sha256:8912071a93bd30d0c4140c144ed1a37bbc893d7ba88a70ac50fb7e96bdff16cb",
  "signature": "q5rb5UlSLPyMTq1jxeL12QcRz63ygSvLABjW5CrxBdIvBC/oSZznivwWR0Ks4qTNE1pUIq54RjXOlhfauunYBQ=="
}
