{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "medikub.json",
  "digest": "sha256:699fc46cfc07ebe4769b35b00c4de3655c94c749db3f062c424492f1a8521dcd",
  "signature": "nNTKsFnzPGG1FFJU22c7xD+XjVzkA2hkpNpmzXO45CmNia6KoFgq2AB/8Tx2p259ebFngqf09HtrWK0dnAzYBA=="
}
