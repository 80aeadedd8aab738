"""The staff API's routes, one router per area; functions/admin/app.py assembles them."""
