{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "zigbee2mqtt.json",
  "digest": "sha256:2119ab5d964a1cda4d9723ecad8a1b35446a69f22fdf1332f07a34b81abd8100",
  "signature": "pkPL2Zz9sa+UNFEDwT7LYPYzdNGtE9VMZxyrxMv8Qe9r5F+1cYIxtpM7NVIr00kEOvSHwUo3pluJr3jiqMqKCQ=="
}
