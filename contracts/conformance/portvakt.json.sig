{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "portvakt.json",
  "digest": "sha256:6b00702af2f72088d03fedc16b954561f163f67687a7664a38249f02c14e1a8f",
  "signature": "Ofm96RutXuamg0SpT/4ytYsaeMadK7uuiCtNgyfd+z/zijG9GIi3Az4y0UGLCl08PDkc5jSFh0krL/Yiq9zEAg=="
}
