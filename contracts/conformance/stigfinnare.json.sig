{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "stigfinnare.json",
  "digest": "sha256:a61e97c5bea50d616656ee79df08b03bf0844ac23b4f7843453e723833b39dbc",
  "signature": "ZOlfRfgwY3T1heJVGOTw/PsdC9GHVQJMFXWo+mWsJAIr6hgrHKcefqk+eQJrtP7sMNLliq71ictl9GPlVv8aAw=="
}
