"""The staff (admin) API: contracts and their lifecycle, registry, audit, disclosures, takedowns, notices."""
