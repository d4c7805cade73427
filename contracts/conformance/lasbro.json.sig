{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "lasbro.json",
  "digest": "sha256:d8dc6bc980bfd0533f54d71b0c68c3a9e271b3db7872dd8bab52b7778edfb25d",
  "signature": "87q/WgvQaH9eQybz04bJGTijP0Is7DQ16/4Z/F/CrANUiGMCUxEWckdO8V034uaEHFOst2IZ7qGofPn1Ti91Cg=="
}
