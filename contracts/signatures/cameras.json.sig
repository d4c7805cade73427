{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "cameras.json",
  "digest": "sha256:477aa1954cf50d4bff022ce0413be2445aee4707add6337631928f48f3a888f3",
  "signature": "FED/eTw6V/hPHMMqBcifpO3XS1KbwgAM2IAKCGcK1PHMJykwPxfyYi+67DyxuGFdQxDovf5iQFRMuMQWIrBRAQ=="
}
