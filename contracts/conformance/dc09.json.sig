{
  "algorithm": "Ed25519",
  "key_id": "ed25519:2080c9e4dc88ba24",
  "signed": "dc09.json",
  "digest": "sha256:7c1a80a702b82361ef7ffa2104569240fb08f289795386b65d24a2f7b7bc7f59",
  "signature": "lKbNTAKnyQv9mTVJ08wLtaK+fm8WjLHgrTQmEa6ZWPgBxNlQ+BhJsSK/Z1AA0uedTUslF903a6iXYeqDPoKUDw=="
}
