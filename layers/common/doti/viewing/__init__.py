"""Viewing (SPEC §6; Art. 10-4): what a customer sees and takes away, cameras, frames, share links, backup
exports and deletion receipts, always through short-lived signed links.
"""
