{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "alarms.json",
  "digest": "sha256:01bbe1fc87657707ef86dd4748be43b89ef3a63dbda59f16b889378894842a5f",
  "signature": "juypCIg7ceQDOFTxOfXPVnZ8Tr24L66D+InyMpac/YAoEyQ5iqm19VbpcH63hGNff0A9XMB5e16SnFd1smrADw=="
}
