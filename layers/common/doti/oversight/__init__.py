"""Oversight (Art. 7-2, 10-1, 10-3, 11-4): what staff may do with a customer's data and the record of it, the
audit log, takedowns, maintenance access, disclosures to third parties and leak incidents.
"""
