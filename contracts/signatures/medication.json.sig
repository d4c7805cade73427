{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "medication.json",
  "digest": "sha256:3f4eca3d1f7e92878c2bbba154879525308d988306dbcf4c36f975bfab2913a0",
  "signature": "1tQxGcLhW72lYgrYtK8o6NFf9g/E7DO1tAV1sSexKHkU1BiaYE4Zo9XuujrbRhfsvvTVNyGyuZ4ToWDxPBKuDA=="
}
