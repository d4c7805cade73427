{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "cameras.json",
  "digest": "sha256:f12199443cb94cf464a33d933122473072a9429d86a6f6805bd3cb885cd118f5",
  "signature": "mkZaxU9/zlC8cT4SfE/EZLuQg263n6/MXYh5pnE3RGkEajoK75x0dCRGJGgLdBvOcfCIF4MaPl+Tflo2ycZvAg=="
}
