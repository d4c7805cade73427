{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "medication.json",
  "digest": "sha256:22fc7fbc8d472d363f64030d4aabd83e51f7adcc70fc407ed0314019b252ddbd",
  "signature": "TN0XAUoaRSCMzCctEYIkYbi8KSBZXvrU0RybvoBKoptnAVERsokIsHdAX6wRk+dk+ZiTAyPiQt4rAu0seKs/DQ=="
}
