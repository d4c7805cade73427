"""Navet's built-in plugins. Each registers through the ``navet`` entry-point group."""
