{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "alarms.json",
  "digest": "sha256:ce200cad6cb99e736c7307b76c6d628592b9f070113002da5ce67c3fe1d92f02",
  "signature": "4Rskv+35EaxKnv0TmF9CUewujyUErX3l4cjXUISnyXAUft9k21T7qMHVIMTqsZ48bjQnYhGBcUAYfMRd+TWlCA=="
}
