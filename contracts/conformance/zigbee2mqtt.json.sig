{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "zigbee2mqtt.json",
  "digest": "sha256:d77fb7ac9bacf7b867ceb3db3deba1c92da09ae4215f74c9aa1025ca523b6e8a",
  "signature": "btOJPRBhLK+tAoHDjnHq4hNIii6bmstamWmYCVCMfXp2ut+sRGJvYYqe3lf/yfwj8Aa3ioqoD99Z2PAAkSUdCg=="
}
