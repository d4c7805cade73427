{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "vaktaren.json",
  "digest": "sha256:6c931d1048f27afdc5a46ae7d510a7f8fa48abe7f35739f51ca0198d0272a29e",
  "signature": "6V8DgfKhdtUm3iLWklRFk2q66E4fGtpf+Q1SorcNyowyBUtMNh8dqoIKPBNEvTJ53UMvofhJTAuNF96siNpMAw=="
}
