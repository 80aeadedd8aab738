"""The customer API's routers; app.py includes each one."""
