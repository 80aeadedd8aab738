"""doti: the shared domain package (contracts, frames, retention, auth, storage keys, signing)."""
