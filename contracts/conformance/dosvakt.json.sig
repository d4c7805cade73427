{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "dosvakt.json",
  "digest": "sha256:f0d68d8221d744daf3742abc0d8f2335e088d038039c739aa75a93ebfd56905e",
  "signature": "m6X9n//DbGMLuE2vr01WkcFNygH5MK/XX5EgnERJHl2sONqRq/g8ZmIuU3AwHM9kBI2mhEJhzea5dRU0hH4tAw=="
}
