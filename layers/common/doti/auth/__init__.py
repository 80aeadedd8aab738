"""Authentication of the three callers: devices (HMAC), customers (sessions) and staff (API keys)."""
