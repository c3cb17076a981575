"""The HTTP API: FHIR endpoints for providers, JSON queries for care coordination centres."""
