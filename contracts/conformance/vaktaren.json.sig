{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "vaktaren.json",
  "digest": "sha256:1be2a2d09d6c3740aa65e869425e64d098ea01a0dcf855eadc8f4a31fcc8f569",
  "signature": "uOwubxGS3A3S6iAOVz6ty1HRo0fc37ZHJmBj4+mDZH6jzjiNjNTvnNia14FSJzoPweZQdhCiyPNDMXqcxzMKCg=="
}
