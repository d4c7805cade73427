{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "cameras.json",
  "digest": "sha256:71765865c6cae71b8d8dd143ca573cce52903ef5a2916a554a84fe47205a0f26",
  "signature": "u/ambwQ6jACebGGxjsrfS3VtRiqdFR3A3+NsZeQcQPJUvSKV7/OTmjxm0FjkNVwLKixKdF6pMFLPSsvs4MeCBQ=="
}
