{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "fhir.json",
  "digest": "sha256:aad1be5735f6a5b6553013e7eaf6041226b06300b5622bf2bf3eae8ab498904a",
  "signature": "QmUP8S9FfvvX+riFmuf9luhd//IEt6olnOFfrIaRb7h4a0VJacOHUE/PLIXvXB3I0XGUux1IALfn/uxpQi4XAg=="
}
