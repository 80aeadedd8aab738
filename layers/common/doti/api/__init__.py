"""The bodies the API functions answer with (issue 12): one pydantic model per shape, built from the domain's
entities. Powertools serialises a route's returned model and documents it from the route's return annotation, so the
OpenAPI documents describe exactly what is sent.

- doti.api.fields: what every response model shares (times as RFC 3339 UTC with milliseconds, keys left out when
  they do not apply);
- doti.api.content: frames and notes, which the device, customer and staff APIs all answer with;
- doti.api.device, doti.api.customer, doti.api.staff: the rest, per API function.
"""
