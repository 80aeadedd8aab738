"""The template and the local stack's machinery: template-to-code contracts, OpenAPI documents, queues, expiry."""
