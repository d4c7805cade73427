{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "lasbro.json",
  "digest": "sha256:1ebb1a3b43c0072eda8cb08fef6db08b359a567a16e30ea53b234ffd26d3460e",
  "signature": "jGmSAUFr+GZspcyQQ19Sm/a7eoJh8VrTzjw4tPqh2KPyDhG1baRSgegllvT4+77+9L/AfVJ82OPYEZEpngIBCg=="
}
