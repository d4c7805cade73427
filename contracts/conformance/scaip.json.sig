{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "scaip.json",
  "digest": "sha256:5f18a0d09d9c93e2fa8318b933c6d778492e0ad2af1235287c66e64590602efd",
  "signature": "MKJC0AIVx6DDvBhSYd5ZN4d8dyN/hcSDef4q9UbjPGQW2RUGR/mnE3GYw/1R4XrYn4T8EyJqblDKtsQDDrHqBw=="
}
