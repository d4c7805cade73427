"""Security: tokens, the device CA, signing, outbound policy, secrets at rest."""
