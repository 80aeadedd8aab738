"""Ingest (SPEC §4; Art. 2): what a site's alarm equipment sends, frames, clips and text data, checked,
processed and stored, with the contract's quota charged for what was stored.
"""
