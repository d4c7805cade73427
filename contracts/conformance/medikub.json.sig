{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "medikub.json",
  "digest": "sha256:c827e92f9764ab1c16feb2410726c85a7b3cabb752f9bce28d1d5f055aa0d8c7",
  "signature": "hMt/+73uv4B9j5/k+yX3bWPjlQasDuXTxHG/CTqiCURePJVH9L2RBqO8mC2I4kb62xYeBElYUTWd/tAYmessDw=="
}
