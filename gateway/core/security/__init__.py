"""Security: tokens, users, the device CA, signing, outbound policy, secrets at rest."""
