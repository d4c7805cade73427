{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "scaip.json",
  "digest": "sha256:3a4cd15bd9a384ba92a74d0147098ec7df655d6f642591bf88a51c16e345b8b8",
  "signature": "CPgPdaZ4riUFwE+9gEoMRuKdl5Q/JOYKd0Pg1pvfhBWRGPGYYH5GJG1m8wLXY9knX1wjsw+jh8jYgDnoIYSjCQ=="
}
