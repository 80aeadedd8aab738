"""Webhooks to customers' systems (issue 16): signing in the Standard Webhooks format (signing) and sending to an
address that was checked to be public, so a customer's URL cannot reach our own network (delivery).
"""
