{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "ugglan.json",
  "digest": "sha256:e5b92849615227e8da7a8b90fa6dcdd16e5bbc1bd593083d7c47fc7e3dc998c0",
  "signature": "ZG5/u+slwchCKflTFhXLDPPNLshh2EWE+34Ior6AZso0jazMagg0pbu/MkURxxseHtOHTGz9p/8G0powkVRJBw=="
}
