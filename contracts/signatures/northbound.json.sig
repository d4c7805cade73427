{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "northbound.json",
  "digest": "sha256:e45883c02fab0eda04e26c9ec13d796adc20e02ccd6535e10373468b78d146d9",
  "signature": "UqBzrXVp1FOI4s0YIfL3kzKv4ghvc92jAxy/J1IJXHnVPKryLiC33sCvEebvMPUI7D7Xi2XbSvJ7+v+Ia5fJAw=="
}
