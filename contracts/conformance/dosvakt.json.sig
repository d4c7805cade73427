{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "dosvakt.json",
  "digest": "sha256:7e5c3c1f1aafa59c1d0bf6bd1e63d2b4e79e169aec5422e9c63d483c2180c9d1",
  "signature": "XWd73eUGRCsQcjMJ4P1qGEFa6enmNJ0leWxPGNxTPEZ99qcXQVpcwnFSS83SjXzjTGxtP0//IfN4zqyFnWiHCg=="
}
