"""Local stack and deployment tooling; everything here is derived from template.yaml."""
