"""Contracts (SPEC §3, §7; Art. 3, 8, 12, 13): a contract's terms (plan, limits, use and what its state lets
through), its states and the moves between them, suspension windows, notices to its customers, the sites, cameras,
devices and users staff register for it, and its retention policy.
"""
