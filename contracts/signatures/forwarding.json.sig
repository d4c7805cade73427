{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "forwarding.json",
  "digest": "sha256:6f7d3970df109dd8f70fa1343bf1dcf01390675860d9ea2144a0a413088bf6e9",
  "signature": "AIQYXBtepFunmj9GfLCzWNBJv4Fb6d+wpUlPfJbWQdzuahowU259IDEBM36qORtPB7Dtb035tSQ7y/azfrGAAg=="
}
