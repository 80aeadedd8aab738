"""Accounts (SPEC §2; Art. 7-11): a contract's users, their roles, login ids and invitations."""
