"""The console people work in: sign-in, the shell (layout, navigation by role, language),
and its screens. Pages are server-rendered from ``gateway/web/templates`` with every
word from the message catalogue ``gateway/web/messages``; no build step.
"""
