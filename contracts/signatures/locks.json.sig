{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "locks.json",
  "digest": "sha256:fac1b20602d085c2983394ae538d0bfadc282fb19000b00bd66f69427bd2fb95",
  "signature": "t7Zevlm4TPryQMT0q22rsWBcZ/ltxJBYIY/+247JpWIneQOEJiW/EDthQsvdhKqlXHbUX7ooeLIecGF7cn4EDw=="
}
