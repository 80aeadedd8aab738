"""The device API: frames and events posted by devices, large uploads, device authentication, quotas."""
