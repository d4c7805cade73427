{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "webhooks.json",
  "digest": "sha256:01b1552ecba0778c479ace5cadef4d31580e97f7ea558669173d684aab8b3acc",
  "signature": "nlcMd1mToX8//geAuCag3bcJ3P2Wdjt1Zxc3Ri9CaKvRdPnTJ5AYF/P4NlJdl1fMCRwpyBM0t3xYwj/SheA1Bg=="
}
