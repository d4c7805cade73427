{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "portvakt.json",
  "digest": "sha256:965c364ebb303a36dfd432fdb616fe105bd03ed30057eff3708a452c0ce71e0a",
  "signature": "QBsZ3PRcE/Eago+eGkPoVPuRZbNg72+nuYxedtL2fyFmInU0v/LRYPCLCH3pYBhEkrq1P0THJgPPsCe+q3raCw=="
}
