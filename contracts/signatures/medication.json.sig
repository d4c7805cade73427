{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "medication.json",
  "digest": "sha256:2bbf709cdd115c0009848863a28a05f34382d2cb3dbf040086c527aa7adecdfa",
  "signature": "WtEURz5jj7ppxv1GNWl6E2vCogBjMupvo9nPllQRnR+WTbP0dAlfpEjKITfWFWBFG7gTnwb6zsvFFF/5TiBDAA=="
}
